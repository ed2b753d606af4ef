"""Corpus-level text scores with sacrebleu, on detokenized strings."""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import BLEU, CHRF


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Scores (0-100) of detokenized hypotheses against one reference each, as sacreBLEU's
    defaults define them: ``bleu`` (cased, ``13a`` tokenisation), ``bleu_lc`` (the same,
    case-insensitive: what lowercased recipes report), ``chrf`` (cased chrF2) and
    ``exact_match`` (% of identical strings)."""
    if not hypotheses:
        return {"bleu": 0.0, "bleu_lc": 0.0, "chrf": 0.0, "exact_match": 0.0}
    outputs, streams = list(hypotheses), [list(references)]
    exact = sum(h.strip() == r.strip() for h, r in zip(hypotheses, references, strict=True))
    return {
        "bleu": BLEU().corpus_score(outputs, streams).score,
        "bleu_lc": BLEU(lowercase=True).corpus_score(outputs, streams).score,
        "chrf": CHRF().corpus_score(outputs, streams).score,
        "exact_match": 100.0 * exact / len(hypotheses),
    }


def caption_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Corpus BLEU-1..4 against all references of each image (0-100).

    sacrebleu takes reference *streams* of equal length; images with fewer references repeat
    their first one, which changes neither clipped n-gram counts nor the closest reference length.
    """
    if not hypotheses:
        return {f"bleu{n}": 0.0 for n in range(1, 5)}
    width = max(len(r) for r in references)
    streams = [[refs[i] if i < len(refs) else refs[0] for refs in references] for i in range(width)]
    return {
        f"bleu{n}": BLEU(max_ngram_order=n).corpus_score(list(hypotheses), streams).score for n in range(1, 5)
    }
