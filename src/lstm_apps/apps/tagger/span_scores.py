"""Tagging scores: span precision/recall/F1 per type and micro-averaged (seqeval, strict mode for
the scheme, i.e. the CoNLL evaluation with ill-formed spans not counted) plus token accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2, IOBES

_SEQEVAL_SCHEMES = {"iob2": IOB2, "bioes": IOBES}


@dataclass
class TypeScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class TaggingScores:
    """Micro-averaged span scores (``none`` scheme: token-level, so they all equal accuracy)."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    per_type: dict[str, TypeScores] = field(default_factory=dict)

    def as_metrics(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "accuracy": self.accuracy}

    def table(self) -> str:
        """A markdown table: one row per entity type, then the micro average."""
        rows = ["| type | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        for kind, s in sorted(self.per_type.items()):
            rows.append(
                f"| {kind} | {100 * s.precision:.2f} | {100 * s.recall:.2f} | {100 * s.f1:.2f} | {s.support} |"
            )
        support = sum(s.support for s in self.per_type.values())
        rows.append(
            f"| **micro avg** | {100 * self.precision:.2f} | {100 * self.recall:.2f} | {100 * self.f1:.2f} | {support} |"
        )
        rows.append(f"\ntoken accuracy: {100 * self.accuracy:.2f}")
        return "\n".join(rows)


def tagging_scores(
    predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], scheme: str
) -> TaggingScores:
    """Score predicted tag sequences against gold ones (same sentences, same lengths)."""
    for i, (p, g) in enumerate(zip(predicted, gold, strict=True)):
        if len(p) != len(g):
            raise ValueError(f"sentence {i}: {len(p)} predicted tags for {len(g)} gold tags")
    tokens = sum(len(g) for g in gold)
    correct = sum(a == b for p, g in zip(predicted, gold, strict=True) for a, b in zip(p, g, strict=True))
    accuracy = correct / tokens if tokens else 0.0
    if scheme == "none":
        return TaggingScores(accuracy, accuracy, accuracy, accuracy)
    report = classification_report(
        [list(g) for g in gold],
        [list(p) for p in predicted],
        mode="strict",
        scheme=_SEQEVAL_SCHEMES[scheme],
        output_dict=True,
        zero_division=0,
    )
    per_type = {
        kind: TypeScores(float(v["precision"]), float(v["recall"]), float(v["f1-score"]), int(v["support"]))
        for kind, v in report.items()
        if not kind.endswith(" avg")
    }
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    return TaggingScores(
        float(micro["precision"]), float(micro["recall"]), float(micro["f1-score"]), accuracy, per_type
    )
