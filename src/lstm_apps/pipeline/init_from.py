"""``init_from``: a new run whose weights start from a checkpoint (fine-tuning, transfer).

Unlike ``ckpt_path``/``resume`` the optimiser, schedule and step count start afresh. A checkpoint
of the same app gives every weight that still fits; a language model (``textgen``) gives another
app its embedding and encoder, with ``init_from_backward`` a model of reversed text for the
backward direction. What the data fitted (tokenizer, labels) is kept as ``init_from_fitted`` says,
and the run prints one table of what was loaded, started fresh or ignored (``weight_transfer.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import get_class
from omegaconf import DictConfig, ListConfig

from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.build import instantiate_model
from lstm_apps.pipeline.checkpoint import CheckpointInfo, read_checkpoint
from lstm_apps.pipeline.weight_transfer import (
    Change,
    EncoderSource,
    LoadPlan,
    TransferParts,
    encoder_plan,
    same_app_plan,
)
from lstm_apps.text.tokenizer import CharTokenizer, HFWrappedTokenizer, tokenizer_from_json

log = logging.getLogger("lstm_apps")


@dataclass
class InitialWeights:
    """The checkpoint(s) a run starts from and what it keeps of them."""

    forward: CheckpointInfo
    backward: CheckpointInfo | None
    keep: str | list[str]  # init_from_fitted: all | none | names of fitted parts
    strict: bool
    app: str
    model_class: type[AppModule]

    @classmethod
    def from_config(cls, cfg: DictConfig) -> InitialWeights | None:
        path = cfg.get("init_from")
        backward_path = cfg.get("init_from_backward")
        if not path:
            if backward_path:
                raise UserError("init_from_backward: needs init_from (the forward language model)")
            return None
        forward = read_checkpoint(path, key="init_from")
        backward = read_checkpoint(backward_path, key="init_from_backward") if backward_path else None
        keep = cfg.get("init_from_fitted", "all")
        if isinstance(keep, ListConfig):
            keep = [str(name) for name in keep]
        model_class = get_class(str(cfg.model._target_))
        initial = cls(
            forward, backward, keep, bool(cfg.get("init_from_strict", False)), str(cfg.app_name), model_class
        )
        initial.check()
        return initial

    @property
    def across_apps(self) -> bool:
        return self.forward.app != self.app

    def check(self) -> None:
        if not isinstance(self.keep, list) and self.keep not in ("all", "none"):
            raise UserError(f"init_from_fitted: all, none or a list of names, got {self.keep!r}")
        if self.across_apps:
            self._check_across_apps()
        elif self.backward is not None:
            raise UserError(
                f"init_from_backward: a backward language model fills another app's encoder; "
                f"init_from is already a {self.app} checkpoint"
            )
        elif isinstance(self.keep, list):
            unknown = sorted(set(self.keep) - set(self.forward.fitted_state))
            if unknown:
                raise UserError(
                    f"init_from_fitted: {', '.join(unknown)} not in the checkpoint's fitted state "
                    f"(it has: {', '.join(sorted(self.forward.fitted_state))})"
                )

    def _check_across_apps(self) -> None:
        target = self.model_class.transfer_parts
        if target is None:
            raise UserError(
                f"init_from: {self.forward.path} is a {self.forward.app} checkpoint, and {self.app} "
                f"takes weights only from {self.app} checkpoints"
            )
        for key, info in (("init_from", self.forward), ("init_from_backward", self.backward)):
            if info is None:
                continue
            if source_parts(info) is None:
                raise UserError(
                    f"{key}: {info.path} is a {info.app} checkpoint, which has no encoder to share"
                )
            backward_model = bool(info.handoff.get("reverse", False))
            if backward_model and key == "init_from":
                raise UserError(
                    f"init_from: {info.path} read its text reversed; it belongs in init_from_backward"
                )
            if not backward_model and key == "init_from_backward":
                raise UserError(
                    f"init_from_backward: {info.path} read its text forwards (train it with data.reverse=true)"
                )
        if isinstance(self.keep, list):
            raise UserError(
                "init_from_fitted: across apps it is all (the language model's tokenizer) or none"
            )
        if self.backward is not None:
            forward_tokens = self.forward.fitted_state.get(_tokenizer_key(self.forward))
            if self.backward.fitted_state.get(_tokenizer_key(self.backward)) != forward_tokens:
                raise UserError(
                    f"init_from_backward: {self.backward.path} has another tokenizer than {self.forward.path}; "
                    "train both language models on the same store (the same corpus and tokenizer settings)"
                )

    # -- what the data keeps ----------------------------------------------------------------------
    def fitted_state(self) -> tuple[dict[str, str] | None, dict[str, str]]:
        """``(complete, adopted)``: a whole fitted state for the datamodule to use as it is (as
        when resuming), or the parts it adopts while fitting the others."""
        fitted = self.forward.fitted_state
        if self.keep == "none":
            return None, {}
        if self.across_apps:
            target = self.model_class.transfer_parts
            assert target is not None
            return None, {target.tokenizer: fitted[_tokenizer_key(self.forward)]}
        if self.keep == "all" or set(self.keep) >= set(fitted):
            return dict(fitted), {}
        return None, {name: fitted[name] for name in self.keep}

    # -- the weights ------------------------------------------------------------------------------
    def plan(self, model: AppModule) -> LoadPlan:
        if not self.across_apps:
            changed = {
                prefix: Change(
                    f"{name} fitted anew (init_from_fitted)",
                    _entry_names(self.forward.fitted_state.get(name), model.fitted_state.get(name)),
                )
                for name, prefixes in model.fitted_weights.items()
                if self.forward.fitted_state.get(name) != model.fitted_state.get(name)
                for prefix in prefixes
            }
            return same_app_plan(model, parameters_of(self.forward), str(self.forward.path), changed)
        target = model.transfer_parts
        assert target is not None
        forward = _encoder_source(self.forward, "lm")
        backward = _encoder_source(self.backward, "lm_backward") if self.backward is not None else None
        origin = f"lm = {self.forward.path}" + (
            f", lm_backward = {self.backward.path}" if self.backward else ""
        )
        return encoder_plan(model, target, forward, backward, self.keep != "none", origin)

    def apply(self, model: AppModule) -> LoadPlan:
        """Copy what fits into ``model``; with ``strict``, any mismatch is one error line first."""
        plan = self.plan(model)
        problems = plan.mismatches()
        if self.strict and problems:
            shown = "; ".join(f"{row.name} ({row.status}: {row.note or row.source})" for row in problems[:3])
            more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
            raise UserError(f"init_from_strict: {len(problems)} tensor(s) do not load whole: {shown}{more}")
        plan.apply(model)
        return plan


def _entry_names(before: str | None, after: str | None) -> tuple[list[str], list[str]] | None:
    """The names of a fitted part's entries (a tokenizer's tokens, a label or tag set) before and
    after, or None where the part has none (a scaler, the speech units' settings)."""
    names = [_names(text) for text in (before, after)]
    first, second = names
    return (first, second) if first is not None and second is not None else None


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    payload = json.loads(text)
    if not isinstance(payload, dict):
        return None
    if payload.get("kind") in ("char", "bpe", "word"):
        tokenizer = tokenizer_from_json(text)
        if isinstance(tokenizer, CharTokenizer):
            return list(tokenizer.symbols)
        return tokenizer.id_words() if isinstance(tokenizer, HFWrappedTokenizer) else None
    for key in ("labels", "tags"):
        entries = payload.get(key)
        if isinstance(entries, list) and all(isinstance(e, str) for e in entries):
            return list(entries)
    return None


def source_parts(info: CheckpointInfo) -> TransferParts | None:
    """Where a checkpoint's app keeps its embedding and encoder (its model class says)."""
    target = info.config.get("model", {}).get("_target_")
    if not target:
        return None
    parts: TransferParts | None = getattr(get_class(str(target)), "transfer_parts", None)
    return parts


def _tokenizer_key(info: CheckpointInfo) -> str:
    parts = source_parts(info)
    assert parts is not None
    return parts.tokenizer


def _encoder_source(info: CheckpointInfo, label: str) -> EncoderSource:
    parts = source_parts(info)
    assert parts is not None
    return EncoderSource(label, parameters_of(info), parts)


def parameters_of(info: CheckpointInfo) -> dict[str, torch.Tensor]:
    """The checkpoint's parameters, its buffers left out (they are never loaded: a new run's are
    its own data's). Which names are parameters its model says, built from its config unloaded."""
    names = {name for name, _ in instantiate_model(info.config.model, info.handoff).named_parameters()}
    return {name: value for name, value in info.payload["state_dict"].items() if name in names}


def report(plan: LoadPlan, output_dir: Path | None) -> None:
    """Print and log the loading table; keep it in the run directory as ``init_from.txt``."""
    table = plan.table()
    print(f"[lstm-apps] {table}", flush=True)
    log.info("%s", table)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "init_from.txt").write_text(table + "\n", encoding="utf-8")
