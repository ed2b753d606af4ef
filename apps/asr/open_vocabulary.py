"""How a speech checkpoint hears English at large (apps/asr/README.md, "Open vocabulary").

    python apps/asr/open_vocabulary.py CKPT [--lm-text FILE] [--weights 0.2 0.35 0.5 0.7 1.0]

On the checkpoint's own data (for ``data/corpus=spoken_open``: held-out voices and sentences), each
split's acoustic outputs computed once, then decoded greedily, by beam search, with the n-gram LM
kept in the checkpoint and — ``--lm-text`` — with one counted on a text file; each LM's weight
tuned on the validation split (the best of ``--weights`` by WER), then applied to test. Printed as
a markdown table: WER and CER over the test split, over its open sentences and its grammar
utterances apart, and the share of test words never seen in training that each decoder writes
(those words found in the hypothesis of their utterance).
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

import torch
from torchmetrics.functional.text import char_error_rate, word_error_rate

from lstm_apps.apps.asr.grammar import vocabulary
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.train import build_datamodule

Outputs = list[tuple[torch.Tensor, torch.Tensor, list[int]]]


def acoustic_outputs(model: Any, data: Any, split: str) -> Outputs:
    """Each batch's CTC outputs, lengths and dataset indices (batches group similar durations)."""
    loader = data.val_dataloader() if split == "val" else data.test_dataloader()
    outputs = []
    with torch.no_grad(), model.evaluating():
        for batch in loader:
            log_probs, lengths = model.net(batch["audio"], batch["audio_lengths"])
            outputs.append((log_probs, lengths, batch["index"].tolist()))
    return outputs


def decode(model: Any, outputs: Outputs, beam: int, lm: Any, weight: float) -> list[str]:
    """The best transcript of every utterance, in dataset order."""
    texts: dict[int, str] = {}
    for log_probs, lengths, indices in outputs:
        found = model.transcripts(log_probs, lengths, beam, lm, lm_weight=weight)
        texts.update(zip(indices, (row[0] for row in found), strict=True))
    return [texts[i] for i in range(len(texts))]


def found_unseen(references: list[str], hypotheses: list[str], known: set[str]) -> float:
    """The share of reference words never seen in training that the hypothesis of their utterance holds."""
    found = total = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        written = Counter(hypothesis.split())
        for word in reference.split():
            if word not in known:
                total += 1
                if written[word] > 0:
                    written[word] -= 1
                    found += 1
    return found / max(total, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("ckpt")
    parser.add_argument("--lm-text", default=None, help="a text file to count an n-gram LM on")
    parser.add_argument("--beam", type=int, default=8)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.2, 0.35, 0.5, 0.7, 1.0])
    args = parser.parse_args()

    info = read_checkpoint(args.ckpt)
    model = model_from_checkpoint(info).eval()
    data = build_datamodule(info.config, info.fitted_state)
    data.setup("test")
    references = {split: list(data.references(split)) for split in ("val", "test")}
    known = {word for text in data.references("train") for word in text.split()}
    grammar = vocabulary()
    outputs = {split: acoustic_outputs(model, data, split) for split in ("val", "test")}
    open_rows = [i for i, text in enumerate(references["test"]) if not set(text.split()) <= grammar]
    test_words = [w for text in references["test"] for w in text.split()]
    unseen = sum(w not in known for w in test_words) / len(test_words)

    decoders: list[tuple[str, int, Any]] = [("greedy", 1, None), (f"beam {args.beam}", args.beam, None)]
    if model.language_model() is not None:
        decoders.append((f"beam {args.beam} + the checkpoint's LM", args.beam, model.language_model()))
    if args.lm_text:
        decoders.append(
            (f"beam {args.beam} + LM of {args.lm_text}", args.beam, model.language_model(args.lm_text))
        )
    rows = []
    for name, beam, lm in decoders:
        weight = 0.0
        if lm is not None:  # tuned on validation
            scores = {
                w: float(word_error_rate(decode(model, outputs["val"], beam, lm, w), references["val"]))
                for w in args.weights
            }
            weight = min(scores, key=scores.__getitem__)
        hypotheses = decode(model, outputs["test"], beam, lm, weight)
        ref, hyp = references["test"], hypotheses
        subset = [(ref[i], hyp[i]) for i in open_rows]
        rest = [(ref[i], hyp[i]) for i in range(len(ref)) if i not in set(open_rows)]
        rows.append(
            f"| {name}{f' (weight {weight:g})' if lm is not None else ''} | "
            f"{100 * float(word_error_rate(hyp, ref)):.1f} | {100 * float(char_error_rate(hyp, ref)):.1f} | "
            f"{100 * float(word_error_rate([h for _, h in subset], [r for r, _ in subset])):.1f} | "
            f"{100 * float(word_error_rate([h for _, h in rest], [r for r, _ in rest])):.1f} | "
            f"{100 * found_unseen(ref, hyp, known):.1f} |"
        )
        print(rows[-1], flush=True)
    print(
        f"\ntest: {len(references['test'])} utterances, {len(open_rows)} of them open sentences; "
        f"{100 * unseen:.1f} % of its running words never occur in the training transcripts\n\n"
        "| decoder | WER % | CER % | WER % open sentences | WER % grammar | unseen words written % |\n"
        "|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows)
    )


if __name__ == "__main__":
    main()
