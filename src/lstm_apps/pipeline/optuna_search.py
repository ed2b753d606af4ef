"""Hyper-parameter search with current Optuna, driven from the pipeline.

Hydra's Optuna sweeper plugin pins optuna<3; driving Optuna here keeps its current samplers and
pruners, and lets each trial be an ordinary ``train(cfg)`` run in its own sub-directory. The study
lives in a journal file in the run directory (Optuna's ``JournalStorage``: appends under a lock
file, safe on a shared filesystem without a database server) or at a database URL, so a search
killed half-way continues where it stopped (with ``resume=auto`` the same command finds it again)
and any number of workers — processes on one machine, tasks of a SLURM array — can run the same
command and fill one study together. A trial that fails is recorded as failed and the search goes
on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf, open_dict

from lstm_apps.config_ranges import check_config
from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra

log = logging.getLogger("lstm_apps")

TrainFunction = Callable[..., dict[str, float]]


class OptunaPruning(L.Callback):
    """Reports the monitored metric after each validation epoch; stops trials Optuna prunes."""

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial, self.monitor = trial, monitor

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import optuna

        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        self.trial.report(float(trainer.callback_metrics[self.monitor]), step=trainer.current_epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {trainer.current_epoch}")


def search_space(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten ``{model: {hidden_size: {type: …}}}`` into ``{"model.hidden_size": {type: …}}``.

    Nested, so that one knob can be changed or dropped from the command line
    (``search.params.model.dropout.high=0.3``, ``~search.params.model.char_features``)."""
    flat: dict[str, Any] = {}
    for name, node in params.items():
        key = f"{prefix}{name}"
        if node is None:
            continue
        if not isinstance(node, Mapping | DictConfig):
            raise UserError(f"search.params.{key}: expected {{type: …}} or a group of such entries")
        flat.update({key: node} if "type" in node else search_space(node, f"{key}."))
    return flat


def suggest(trial: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """One value per searched key: ``{type: float|int, low, high, log}`` or ``{type: categorical, choices}``."""
    values = {}
    for key, spec in search_space(params).items():
        kind = spec.get("type")
        if kind == "float":
            values[key] = trial.suggest_float(key, spec.low, spec.high, log=bool(spec.get("log", False)))
        elif kind == "int":
            values[key] = trial.suggest_int(key, spec.low, spec.high, log=bool(spec.get("log", False)))
        elif kind == "categorical":
            values[key] = trial.suggest_categorical(key, list(spec.choices))
        else:
            raise UserError(f"search.params.{key}.type: must be float, int or categorical, got {kind!r}")
    return values


def trial_config(cfg: DictConfig, values: Mapping[str, Any], output_dir: Path) -> DictConfig:
    """The run config of one trial: the sampled values set, the search removed, its own directory."""
    trial = cfg.copy()  # interpolations kept: paths that derive from output_dir follow it
    with open_dict(trial):
        trial.search = None
        trial.paths.output_dir = str(output_dir)
        trial.test_after_fit = bool(cfg.search.get("test_trials", False))
        absent = object()
        for key, value in values.items():
            if OmegaConf.select(trial, key, default=absent) is absent:
                raise UserError(f"search.params: {key} is not a key of the run config")
            OmegaConf.update(trial, key, value, merge=False)
    check_config(trial, "train")  # a trial's values reach train() without the command line's check
    return trial


def open_study(cfg: DictConfig) -> tuple[Any, str, Path]:
    """The study of this search (created by the first worker), its storage and the run directory."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

    spec = cfg.search
    output = Path(cfg.paths.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    url = spec.get("storage")
    if url:
        storage: Any = str(url)
        shown = str(url)
    else:
        journal = output / "optuna.journal"
        storage = JournalStorage(JournalFileBackend(str(journal), lock_obj=JournalFileOpenLock(str(journal))))
        shown = str(journal)
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=int(spec.pruner.startup_trials), n_warmup_steps=int(spec.pruner.warmup_epochs)
    )
    study = optuna.create_study(
        study_name=str(spec.study_name),
        storage=storage,
        load_if_exists=True,
        pruner=pruner,
        direction="maximize" if cfg.monitor_mode == "max" else "minimize",
    )
    return study, shown, output


def run_search(cfg: DictConfig, train: TrainFunction) -> dict[str, float]:
    """Run trials until the study holds ``search.n_trials`` (counting other workers'), then, once
    every trial has ended, write ``search.json`` with the best one."""
    require_extra("sweep", "hparams_search (Optuna)")
    import optuna
    from optuna.storages.journal import JournalFileOpenLock

    spec = cfg.search
    study, storage, output = open_study(cfg)
    monitor = str(cfg.monitor)
    wanted = int(spec.n_trials)
    # Workers take trials one at a time under this lock: the study never gets more than n_trials.
    lock = JournalFileOpenLock(str(output / "search.lock"))

    def next_trial() -> optuna.Trial | None:
        lock.acquire()
        try:
            made = len(study.get_trials(deepcopy=False))
            if made >= wanted:
                return None
            # Seeded by the run seed and the trial's number: reproducible for one worker, and
            # workers drawing at the same time do not draw the same values.
            if cfg.get("seed") is not None:
                study.sampler = optuna.samplers.TPESampler(seed=int(cfg.seed) + made)
            return study.ask()
        finally:
            lock.release()

    ran = 0
    while (trial := next_trial()) is not None:
        _run_trial(study, trial, cfg, train, output, monitor)
        ran += 1
    return _report(study, storage, output, monitor, lock, ran_trials=ran > 0)


def _run_trial(
    study: Any, trial: Any, cfg: DictConfig, train: TrainFunction, output: Path, monitor: str
) -> None:
    """One trial in ``trial_NNN/``: its value told to the study; pruned or failed (a bad value, a
    crash) recorded as such, and the search goes on."""
    import optuna

    try:
        values = suggest(trial, cfg.search.params)
        log.info("trial %d: %s", trial.number, values)
        metrics = train(
            trial_config(cfg, values, output / f"trial_{trial.number:03d}"), [OptunaPruning(trial, monitor)]
        )
        best = metrics.get(f"best/{monitor}", metrics.get(monitor))
        if best is None:
            raise RuntimeError(f"the trial logged no {monitor}")
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    except Exception as err:
        log.warning("trial %d failed: %s", trial.number, err)
        print(f"[lstm-apps] trial {trial.number} failed: {err}", flush=True)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, float(best))


def _report(
    study: Any, storage: str, output: Path, monitor: str, lock: Any, ran_trials: bool
) -> dict[str, float]:
    """``search.json`` and one summary line, from the worker that sees the study's last trial end:
    workers finishing while others still train, or just after another reported, leave it to that
    one; a worker that found nothing left to run names the report."""
    import optuna

    lock.acquire()
    try:
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state.is_finished()]
        summary_file = output / "search.json"
        if len(finished) < len(trials):
            print(
                f"[lstm-apps] search: {len(trials) - len(finished)} trial(s) still running in other workers",
                flush=True,
            )
            return {}
        reported = summary_file.exists() and json.loads(summary_file.read_text()).get("finished") == len(
            finished
        )
        if reported:
            if ran_trials:
                return {}  # another worker ended the last trial at the same time and reported it
            # Nothing left to run when this worker started (the others took every trial, or the
            # search had ended): point to the report instead of printing it again.
            stored = json.loads(summary_file.read_text())
            print(
                f"[lstm-apps] search: already finished ({len(finished)} trials): {summary_file}", flush=True
            )
            best = stored.get("best_value")
            return {f"search/best_{monitor}": float(best)} if best is not None else {}
        states = [t.state.name for t in trials]
        summary: dict[str, Any] = {
            "study": study.study_name,
            "storage": storage,
            "monitor": monitor,
            "finished": len(finished),
            "trials": {s: states.count(s) for s in sorted(set(states))},
        }
        completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        if completed:
            summary.update(
                best_value=study.best_value, best_params=study.best_params, best_trial=study.best_trial.number
            )
        summary_file.write_text(json.dumps(summary, indent=2))
    finally:
        lock.release()
    print(f"[lstm-apps] search: {json.dumps(summary)}", flush=True)
    return {f"search/best_{monitor}": float(summary["best_value"])} if completed else {}
