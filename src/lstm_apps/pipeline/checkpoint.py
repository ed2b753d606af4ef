"""Reading our self-contained checkpoints back: config, vocabularies and weights from one file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_module import CHECKPOINT_FORMAT, CHECKPOINT_KEY, AppModule
from lstm_apps.pipeline.build import instantiate_model, plain_dict
from lstm_apps.pipeline.checkpoint_file import foreign_payload_reason, unreadable_reason

# Modules whose classes a stored run config names as ``_target_`` and that have since moved into
# their app's package: a checkpoint written before the move names the old module.
MOVED_MODULES = {
    "lstm_apps.data.corpus": "lstm_apps.apps.textgen.corpus",
    "lstm_apps.data.caption_sources": "lstm_apps.apps.captioner.sources",
    "lstm_apps.data.conll": "lstm_apps.apps.tagger.conll",
    "lstm_apps.data.ner_corpus": "lstm_apps.apps.tagger.ner_corpus",
    "lstm_apps.data.labelled_text": "lstm_apps.apps.classifier.labelled_text",
    "lstm_apps.data.stdlib_docstrings": "lstm_apps.apps.classifier.stdlib_docstrings",
    "lstm_apps.data.parallel": "lstm_apps.apps.seq2seq.parallel",
    "lstm_apps.data.time_series": "lstm_apps.apps.forecaster.time_series",
    "lstm_apps.callbacks.preemption": "lstm_apps.pipeline.preemption",
}


@dataclass
class CheckpointInfo:
    """The ``lstm_apps`` part of a checkpoint plus the raw Lightning payload."""

    path: Path
    app: str
    config: DictConfig
    handoff: dict[str, Any]
    fitted_state: dict[str, str]
    payload: dict[str, Any]


def read_checkpoint(
    path: str | Path, key: str = "ckpt_path", expected_app: str | None = None
) -> CheckpointInfo:
    """Load and validate a checkpoint file, failing with one line that names it."""
    file = Path(str(path)).expanduser()
    if not file.exists():
        raise UserError(f"{key}: file not found: {file}")
    if file.is_dir():
        raise UserError(f"{key}: expected a checkpoint file, got a directory: {file}")
    payload = _load_once(file, key)
    meta = payload.get(CHECKPOINT_KEY) if isinstance(payload, dict) else None
    if not isinstance(meta, dict) or "app" not in meta or "state_dict" not in payload:
        reason = foreign_payload_reason(payload, CHECKPOINT_KEY)
        raise UserError(f"{key}: {file} is not an lstm-apps checkpoint: {reason}")
    version = meta.get("format", CHECKPOINT_FORMAT)
    if version != CHECKPOINT_FORMAT:
        newer = isinstance(version, int) and version > CHECKPOINT_FORMAT
        raise UserError(
            f"{key}: {file} is an lstm-apps checkpoint of format {version}, this version reads format "
            f"{CHECKPOINT_FORMAT} ({'upgrade lstm-apps' if newer else 'retrain, or use the lstm-apps that wrote it'})"
        )
    app = str(meta["app"])
    if expected_app is not None and app != expected_app:
        raise UserError(f"{key}: {file} was trained by app '{app}', not '{expected_app}'")
    if meta.get("config") is None:
        raise UserError(f"{key}: {file} carries no run config; it was not written by 'lstm-apps train'")
    config = OmegaConf.create(_current_targets(meta["config"]))
    if not isinstance(config, DictConfig):
        raise UserError(f"{key}: {file} carries a run config that is not a mapping")
    return CheckpointInfo(
        path=file,
        app=app,
        config=config,
        handoff=dict(_handoff(meta)),
        fitted_state=dict(_fitted_state(meta)),
        payload=payload,
    )


# The last file read, by (path, modification time, size): a command that looks at a checkpoint
# before Hydra runs (predict: which app's options) and then loads it reads the file once.
_last_read: dict[tuple[str, int, int], Any] = {}


def _load_once(file: Path, key: str) -> Any:
    stat = file.stat()
    identity = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    if identity not in _last_read:
        try:
            # Everything we store is tensors and plain containers: the safe loader suffices.
            payload = torch.load(file, map_location="cpu", weights_only=True)
        except Exception:  # any failure to unpickle means "not a checkpoint"; say what it is
            raise UserError(
                f"{key}: {file} is not a readable checkpoint: {unreadable_reason(file)}"
            ) from None
        _last_read.clear()
        _last_read[identity] = payload
    return _last_read[identity]


def _current_targets(node: Any) -> Any:
    """``node`` with every ``_target_`` in a moved module renamed to where the class lives now."""
    if isinstance(node, dict):
        return {
            key: _moved(value) if key == "_target_" else _current_targets(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_current_targets(value) for value in node]
    return node


def _moved(target: Any) -> Any:
    if isinstance(target, str):
        module, _, name = target.rpartition(".")
        if module in MOVED_MODULES:
            return f"{MOVED_MODULES[module]}.{name}"
    return target


def _handoff(meta: dict[str, Any]) -> dict[str, Any]:
    """The datamodule's hand-off; checkpoints written before it had one name call it ``model_kwargs``."""
    return meta.get("handoff") or meta.get("model_kwargs") or {}


def _fitted_state(meta: dict[str, Any]) -> dict[str, str]:
    """Tokenizers, vocabularies, scaler; checkpoints written before it had one name call it ``vocab``."""
    return meta.get("fitted_state") or meta.get("vocab") or {}


def model_from_checkpoint(info: CheckpointInfo) -> AppModule:
    """Rebuild the trained model from the checkpoint alone and load its weights."""
    model = instantiate_model(info.config.model, info.handoff)
    model.run_config = plain_dict(info.config)
    model.handoff = info.handoff
    model.bind_fitted_state(info.fitted_state)
    model.load_state_dict(info.payload["state_dict"])
    model.eval()
    return model


def newest_checkpoint(folder: Path, app: str) -> Path | None:
    """The newest checkpoint in ``folder`` that reads back whole (``None`` if there is none).

    Writes are atomic, so a ``*.ckpt`` is complete unless the disk lied; a file that does not
    read back is skipped for the next newest rather than failing the restart.
    """
    if not folder.is_dir():
        return None
    for candidate in sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            read_checkpoint(candidate, expected_app=app)
        except UserError:
            continue
        return candidate
    return None
