"""Span tagging schemes: conversion, validation, legal transitions and strict span extraction.

Schemes: ``iob1`` (CoNLL-2003's original: ``B-`` only between two adjacent entities of one type),
``iob2`` (every entity starts with ``B-``), ``bioes`` (``S-`` single, ``B-`` … ``E-``), and
``none`` for label sets without spans (part-of-speech tags). Models train on ``iob2`` or ``bioes``;
``iob1`` input is converted when it is read. Span extraction follows seqeval's strict mode: a span
counts only if it is well formed in the scheme.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Literal

import torch

FileScheme = Literal["iob1", "iob2", "bioes", "none"]  # what tagged files may be written in
ModelScheme = Literal["iob2", "bioes", "none"]  # what a model may learn
SCHEMES: tuple[str, ...] = typing.get_args(FileScheme)
MODEL_SCHEMES: tuple[str, ...] = typing.get_args(ModelScheme)
_PREFIXES = {"iob1": "BI", "iob2": "BI", "bioes": "BIES"}

Span = tuple[str, int, int]  # (type, start, end exclusive)


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER" -> ("B", "PER")``; ``"O" -> ("O", "")``."""
    if tag == "O":
        return "O", ""
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def invalid_tag(tag: str, scheme: str) -> str | None:
    """Why ``tag`` is not a tag of ``scheme``, or ``None`` if it is."""
    if scheme == "none" or tag == "O":
        return None
    prefix, kind = split_tag(tag)
    if prefix not in _PREFIXES[scheme] or not kind:
        allowed = "/".join(_PREFIXES[scheme])
        return f"tag {tag!r} is not O or {allowed}-TYPE as the {scheme} scheme requires"
    return None


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """An ``I-X`` that does not continue an ``X`` entity starts one."""
    converted: list[str] = []
    for tag in tags:
        prefix, kind = split_tag(tag)
        if prefix == "I":
            previous_prefix, previous_kind = split_tag(converted[-1]) if converted else ("O", "")
            if previous_prefix == "O" or previous_kind != kind:
                tag = f"B-{kind}"
        converted.append(tag)
    return converted


def iob2_to_bioes(tags: Sequence[str]) -> list[str]:
    """Mark single-token entities ``S-`` and entity ends ``E-``."""
    converted = []
    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        continues = i + 1 < len(tags) and tags[i + 1] == f"I-{kind}"
        if prefix == "B":
            tag = tag if continues else f"S-{kind}"
        elif prefix == "I":
            tag = tag if continues else f"E-{kind}"
        converted.append(tag)
    return converted


def bioes_to_iob2(tags: Sequence[str]) -> list[str]:
    converted = []
    for tag in tags:
        prefix, kind = split_tag(tag)
        converted.append(tag if prefix in ("O", "B", "I") else f"{'B' if prefix == 'S' else 'I'}-{kind}")
    return converted


def convert(tags: Sequence[str], source: str, target: str) -> list[str]:
    """Convert one sentence's tags between schemes (``none`` passes through unchanged)."""
    if source == target or "none" in (source, target):
        return list(tags)
    to_iob2: dict[str, Callable[[Sequence[str]], list[str]]] = {
        "iob1": iob1_to_iob2,
        "iob2": list,
        "bioes": bioes_to_iob2,
    }
    iob2 = to_iob2[source](tags)
    return iob2_to_bioes(iob2) if target == "bioes" else iob2


def _may_follow(previous: str, current: str, scheme: str) -> bool:
    prev_prefix, prev_kind = split_tag(previous)
    prefix, kind = split_tag(current)
    if scheme == "iob2":
        return prefix != "I" or (prev_prefix in ("B", "I") and prev_kind == kind)
    inside = prev_prefix in ("B", "I")  # bioes: an open entity must continue with I/E of its type
    if inside:
        return prefix in ("I", "E") and kind == prev_kind
    return prefix in ("O", "B", "S")


def allowed_transitions(tags: Sequence[str], scheme: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(allowed [T, T], allowed_start [T], allowed_end [T])`` for the CRF; all True for ``none``."""
    n = len(tags)
    if scheme == "none":
        return (
            torch.ones(n, n, dtype=torch.bool),
            torch.ones(n, dtype=torch.bool),
            torch.ones(n, dtype=torch.bool),
        )
    allowed = torch.tensor([[_may_follow(a, b, scheme) for b in tags] for a in tags], dtype=torch.bool)
    start = torch.tensor([_may_follow("O", t, scheme) for t in tags], dtype=torch.bool)
    if scheme == "iob2":
        end = torch.ones(n, dtype=torch.bool)
    else:
        end = torch.tensor([split_tag(t)[0] in ("O", "E", "S") for t in tags], dtype=torch.bool)
    return allowed, start, end


def is_legal(tags: Sequence[str], scheme: str) -> bool:
    """Whether a whole sentence's tag sequence obeys ``scheme``."""
    if scheme == "none" or not tags:
        return True
    names = sorted(set(tags) | {"O"})
    allowed, start, end = allowed_transitions(names, scheme)
    index = {t: i for i, t in enumerate(names)}
    ids = [index[t] for t in tags]
    return bool(
        start[ids[0]] and end[ids[-1]] and all(allowed[a, b] for a, b in zip(ids, ids[1:], strict=False))
    )


def spans(tags: Sequence[str], scheme: str) -> list[Span]:
    """Well-formed spans only (seqeval strict mode): ``[(type, start, end), ...]``."""
    if scheme == "none":
        return []
    if scheme == "iob1":
        tags, scheme = iob1_to_iob2(tags), "iob2"
    found: list[Span] = []
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, current = split_tag(tag)
        if scheme == "iob2":
            if start >= 0 and not (prefix == "I" and current == kind):
                found.append((kind, start, i))
                start = -1
            if prefix == "B":
                start, kind = i, current
        else:
            if prefix == "S":
                found.append((current, i, i + 1))
                start = -1
            elif prefix == "B":
                start, kind = i, current
            elif prefix == "I" and start >= 0 and current == kind:
                continue
            elif prefix == "E" and start >= 0 and current == kind:
                found.append((kind, start, i + 1))
                start = -1
            else:
                start = -1
    return found
