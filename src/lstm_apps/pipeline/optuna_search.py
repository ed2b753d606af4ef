"""Hyper-parameter search with current Optuna, driven from the pipeline.

Hydra's Optuna sweeper plugin pins optuna<3; driving Optuna here keeps its current samplers and
pruners, and lets each trial be an ordinary ``train(cfg)`` run in its own sub-directory. The study
lives in SQLite, so a search killed half-way continues where it stopped (with ``resume=auto`` the
same command finds it again); a trial that fails is recorded as failed and the search goes on.
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


def run_search(cfg: DictConfig, train: TrainFunction) -> dict[str, float]:
    """Run the trials still missing from the study; write ``search.json`` with the best one."""
    require_extra("sweep", "hparams_search (Optuna)")
    import optuna

    spec = cfg.search
    output = Path(cfg.paths.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    storage = spec.get("storage") or f"sqlite:///{output / 'optuna.db'}"
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
    # Seeded by the run seed and the trials already made: reproducible, yet a resumed study
    # does not draw its first trials again.
    seed = None if cfg.get("seed") is None else int(cfg.seed) + len(study.trials)
    study.sampler = optuna.samplers.TPESampler(seed=seed)
    monitor = str(cfg.monitor)

    def objective(trial: optuna.Trial) -> float:
        values = suggest(trial, spec.params)
        log.info("trial %d: %s", trial.number, values)
        metrics = train(
            trial_config(cfg, values, output / f"trial_{trial.number:03d}"), [OptunaPruning(trial, monitor)]
        )
        best = metrics.get(f"best/{monitor}", metrics.get(monitor))
        if best is None:
            raise RuntimeError(f"the trial logged no {monitor}")
        return float(best)

    remaining = int(spec.n_trials) - len(study.trials)
    if remaining > 0:
        # A failed trial (bad value, crash) is recorded as FAIL; the search continues.
        study.optimize(objective, n_trials=remaining, catch=(Exception,), gc_after_trial=True)
    states = [t.state.name for t in study.trials]
    summary: dict[str, Any] = {
        "study": study.study_name,
        "storage": storage,
        "monitor": monitor,
        "trials": {s: states.count(s) for s in sorted(set(states))},
    }
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if completed:
        summary.update(
            best_value=study.best_value, best_params=study.best_params, best_trial=study.best_trial.number
        )
    (output / "search.json").write_text(json.dumps(summary, indent=2))
    print(f"[lstm-apps] search: {json.dumps(summary)}", flush=True)
    return {f"search/best_{monitor}": float(summary["best_value"])} if completed else {}
