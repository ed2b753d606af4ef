"""Corpus-level text scores with sacrebleu, on detokenized strings."""

from __future__ import annotations

from collections.abc import Sequence

import sacrebleu
from sacrebleu.metrics import BLEU


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """BLEU, chrF (0-100) and exact match (%) of hypotheses against one reference each."""
    if not hypotheses:
        return {"bleu": 0.0, "chrf": 0.0, "exact_match": 0.0}
    bleu = sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score
    chrf = sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score
    exact = sum(h.strip() == r.strip() for h, r in zip(hypotheses, references, strict=True))
    return {"bleu": bleu, "chrf": chrf, "exact_match": 100.0 * exact / len(hypotheses)}


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
