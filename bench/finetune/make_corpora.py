"""The corpora of the fine-tuning measurements (docs/results.md, "fine-tuning and transfer"),
made from data sets already arranged by ``lstm-apps prepare``.

- ``lm_en/``: unlabelled English for the SST-2 language models: SST-2's training sentences
  (labels dropped; of its 57k rows only the whole sentences, not the phrases parsed out of them,
  which would repeat each sentence's words a dozen times) and the English side of Multi30k's
  training set; validation: the classifier's validation sentences. The dev set (the classifier's
  test set) is never read.
- ``lm_es/``: the CoNLL-2002 Spanish training sentences as plain text (tags dropped), one per
  line; validation: ``testa``. ``testb`` (the tagger's test set) is never read.
- ``sst2_<pct>pct/train.tsv``: ``pct`` % of SST-2's labelled training rows, drawn with ``--seed``.
- ``captions_en/``: Multi30k's English captions, the second corpus the Shakespeare LM moves to.

Usage: ``python bench/finetune/make_corpora.py DATA_DIR OUT_DIR [--seed 0]`` where DATA_DIR is
``$LSTM_APPS_ROOT/data``.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from pathlib import Path


def tsv_texts(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield row["text"]


def whole_sentences(rows: list[str]) -> list[str]:
    """The rows that are not part of a longer row (SST's phrases are parts of its sentences).
    Longest first; a row is looked for only in the kept rows that hold its rarest word."""
    counts: dict[str, int] = {}
    for row in rows:
        for word in set(row.split()):
            counts[word] = counts.get(word, 0) + 1
    kept: list[str] = []
    holding: dict[str, list[int]] = {}
    for row in sorted(set(rows), key=len, reverse=True):
        words = row.split()
        if not words:
            continue
        rarest = min(words, key=lambda w: counts[w])
        if any(row in kept[i] for i in holding.get(rarest, ())):
            continue
        for word in set(words):
            holding.setdefault(word, []).append(len(kept))
        kept.append(row)
    return kept


def conll_sentences(path: Path) -> Iterator[str]:
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            if words:
                yield " ".join(words)
            words = []
            continue
        words.append(line.split()[0])
    if words:
        yield " ".join(words)


def write_lines(path: Path, lines: Iterator[str] | list[str]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line.strip() + "\n")
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data, out = args.data_dir, args.out_dir
    sst, m30k, conll = (
        data / "classifier" / "sst2",
        data / "seq2seq" / "multi30k",
        data / "tagger" / "conll2002_es",
    )

    sentences = whole_sentences(list(tsv_texts(sst / "train.tsv")))
    print("SST-2 whole training sentences", len(sentences))
    english = [*sentences, *m30k.joinpath("train.en").read_text(encoding="utf-8").splitlines()]
    random.Random(args.seed).shuffle(english)  # the two sources interleaved, not one after the other
    print("lm_en/train.txt", write_lines(out / "lm_en" / "train.txt", english))
    print("lm_en/val.txt", write_lines(out / "lm_en" / "val.txt", tsv_texts(sst / "val.tsv")))
    print("lm_es/train.txt", write_lines(out / "lm_es" / "train.txt", conll_sentences(conll / "train.txt")))
    print("lm_es/val.txt", write_lines(out / "lm_es" / "val.txt", conll_sentences(conll / "val.txt")))
    for name in ("train", "val"):
        source = m30k / f"{name}.en"
        print(
            f"captions_en/{name}.txt",
            write_lines(out / "captions_en" / f"{name}.txt", source.read_text(encoding="utf-8").splitlines()),
        )

    header, *rows = (sst / "train.tsv").read_text(encoding="utf-8").splitlines()
    for pct in (1, 10):
        chosen = random.Random(args.seed).sample(rows, round(len(rows) * pct / 100))
        print(
            f"sst2_{pct}pct/train.tsv",
            write_lines(out / f"sst2_{pct}pct" / "train.tsv", [header, *chosen]) - 1,
        )


if __name__ == "__main__":
    main()
