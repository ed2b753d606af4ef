"""What every app's predictor shares: typed options, the choice by app name, batched runs and output.

Each app has a ``Predictor`` subclass, named by its ``App`` (``predictor:PREDICTOR`` in its
package by default, found through ``lstm_apps.registry``): it holds the app's ``lstm-apps predict`` options as a dataclass (defaults as in
``configs/predict/<app>.yaml``), reads the inputs (prompts, files, images), batches them, and
formats what the model returns. The model keeps only tensor-level inference (``predict_step``,
``decode`` …), so the same network serves training, evaluation, export and prediction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import lightning as L
import torch
from torch.utils.data import DataLoader

from lstm_apps.config_ranges import check_options
from lstm_apps.config_ranges.declared import PREDICT_COMMON
from lstm_apps.data.files import write_text_atomically
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import move_batch
from lstm_apps.registry import app as registered_app

# Keys of ``configs/predict.yaml`` that every app shares; everything else is the app's option.
COMMON_KEYS = ("ckpt_path", "task_name", *PREDICT_COMMON)

ModelT = TypeVar("ModelT", bound=L.LightningModule)
OptionsT = TypeVar("OptionsT")


@dataclass
class Prediction:
    """``text``: what is printed, or written whole to ``output_file``; ``summary``: the line printed
    instead when it is written (``tagged 3 sentences``)."""

    text: str
    summary: str = ""


class Predictor(Generic[ModelT, OptionsT]):
    """Runs one app's trained model on the ``lstm-apps predict`` options.

    Subclasses set ``options_type`` (a dataclass whose fields are the app's options) and implement
    ``predict``. ``device`` is where the model runs, as torch names it (``cpu``, ``cuda:1``).
    ``direct``: run ``predict_step`` in a plain inference loop instead of ``trainer.predict`` — what
    a server answering a few requests at a time wants (building a Trainer per call costs
    milliseconds); the batches, the model's ``predict_step`` and the formatting are the same.
    """

    options_type: ClassVar[type]
    # The option ``lstm-apps inspect input=…`` sets (textgen's ``prompt``, the classifier's ``text`` …).
    main_input: ClassVar[str | None] = None
    # Whether ``main_input`` is text whose pieces ``inspection_steps`` names: the server then also
    # offers ``/inside`` (the playground's view of the cells along the input) …
    inside_view: ClassVar[bool] = False
    # … and ``lstm-apps inspect`` (where left at their defaults) run with these options beside the
    # input: a generator's continuation kept short, a beam search of one hypothesis.
    inspection_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, model: ModelT, options: OptionsT, device: str = "cpu", direct: bool = False) -> None:
        self.model = model
        self.options = options
        self.device = device
        self.direct = direct

    def predict(self) -> Prediction:
        raise NotImplementedError

    def inspection_steps(self, prediction: Prediction) -> list[str] | None:
        """For ``lstm-apps inspect``, after ``predict``: the text of each step of the input as the
        network reads it (characters, tokens or words with their spaces: joined, they are the
        text), whose cells are drawn over it; None for input that is not text (a heatmap then)."""
        return None

    def inspection_features(self, prediction: Prediction) -> dict[str, Any]:
        """Per-step features of the input beyond the text ones (``inspection/features.py``) that
        ``find=true`` correlates cells with: name -> one number per step."""
        return {}

    def run_batches(self, batches: Iterable[Any]) -> list[Any]:
        """``trainer.predict`` over ready-made batches: the model's ``predict_step`` results, one
        entry per batch, in order (without the Trainer when ``direct``)."""
        if self.direct:
            return run_directly(self.model, batches, self.device)
        return predict_batches(self.model, batches, self.device)


def predictor_for(app: str) -> type[Predictor]:
    """The predictor of ``app``, as its ``App`` names it (``lstm_apps.registry``): the pipeline
    finds predictors without importing any app by name."""
    spec = registered_app(app)
    predictor = spec.part(spec.predictor)
    if not (isinstance(predictor, type) and issubclass(predictor, Predictor)):
        raise UserError(f"app {app!r}: its predictor ({spec.predictor}) is not a Predictor class")
    return predictor


def option_names(predictor: type[Predictor]) -> list[str]:
    return [field.name for field in dataclasses.fields(predictor.options_type)]


def check_option_names(app: str, names: Iterable[str]) -> None:
    """Raise ``UserError`` for the first name that is neither a common key nor ``app``'s option."""
    known = option_names(predictor_for(app))
    for name in names:
        if name not in known and name not in COMMON_KEYS:
            raise UserError(
                f"unknown predict option {name!r} for app {app!r} (available: {', '.join(known)})"
            )


def read_options(app: str, values: Mapping[str, Any]) -> Any:
    """``app``'s options dataclass from ``values`` (the composed config; common keys are skipped):
    one line for an unknown option, or a value its field's annotation does not allow."""
    predictor = predictor_for(app)
    own = {key: value for key, value in values.items() if key not in COMMON_KEYS}
    check_option_names(app, own)
    check_options(predictor.options_type, own)
    return predictor.options_type(**own)


def trainer_device(device: str) -> tuple[str, int | list[int]]:
    """Lightning's ``(accelerator, devices)`` for a torch device name (``cpu``, ``cuda``, ``cuda:1``)."""
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise UserError(f"device: not a device name: {device!r} (e.g. cpu, cuda, cuda:1)") from None
    if parsed.type == "cuda":
        return "gpu", [parsed.index] if parsed.index is not None else 1
    return parsed.type, 1


def predict_batches(model: L.LightningModule, batches: Iterable[Any], device: str) -> list[Any]:
    """``trainer.predict`` with a quiet trainer (no logger, checkpoints, progress bar or summary)."""
    accelerator, devices = trainer_device(device)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=devices,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    return trainer.predict(model, datamodule=_PredictData(batches)) or []


def run_directly(model: L.LightningModule, batches: Iterable[Any], device: str) -> list[Any]:
    """``model.predict_step`` over ``batches`` moved to ``device``, in eval and inference mode: what
    ``trainer.predict`` does on one device, without building a Trainer."""
    model.eval()
    with torch.inference_mode():
        return [model.predict_step(move_batch(batch, device), index) for index, batch in enumerate(batches)]


class _Batches(torch.utils.data.IterableDataset):
    """Ready-made batches as a dataset that ``DataLoader(batch_size=None)`` passes through."""

    def __init__(self, batches: Iterable[Any]) -> None:
        super().__init__()
        self.batches = batches

    def __iter__(self) -> Any:
        return iter(self.batches)


class _PredictData(L.LightningDataModule):
    """The predict loader, moved to the device as the apps' datamodules move theirs (sequence
    lengths stay on the host, where packing reads them)."""

    def __init__(self, batches: Iterable[Any]) -> None:
        super().__init__()
        self.batches = batches

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(_Batches(self.batches), batch_size=None)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return move_batch(batch, device)


def deliver(prediction: Prediction, output_file: str | None) -> str:
    """Write ``prediction`` to ``output_file`` (atomically) and return the summary line, or return
    the text to print."""
    if output_file:
        write_text_atomically(str(output_file), prediction.text)
        return f"{prediction.summary} -> {output_file}"
    return prediction.text.rstrip("\n")


def existing_file(path: str | None, key: str) -> Path:
    """``path`` as a file that exists, or one line naming ``key`` (also when ``path`` is None)."""
    if path is None:
        raise UserError(f"{key}: no file given")
    file = Path(str(path)).expanduser()
    if not file.is_file():
        raise UserError(f"{key}: file not found: {file}")
    return file


def exactly_one(options: Any, first: str, second: str, usage: str) -> None:
    """Raise ``UserError`` unless exactly one of the options ``first`` and ``second`` is set;
    ``usage`` shows both, e.g. ``input="..." or input_file=path``."""
    if (getattr(options, first) is None) == (getattr(options, second) is None):
        raise UserError(f"predict: give exactly one of {usage}")
