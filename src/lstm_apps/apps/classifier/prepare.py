"""Arrange SST-2 or IMDB sentiment data as data/classifier/<corpus>/{train,val,test}.<tsv|jsonl>
for ``data/corpus=labelled_files``.

    lstm-apps prepare classifier sst2 [--base-url file:///path/to/a/mirror]
    lstm-apps train experiment=classifier_sst2

- ``sst2``: GLUE's ``SST-2.zip`` (``SST-2/train.tsv`` and ``SST-2/dev.tsv``: ``sentence<TAB>label``).
  GLUE's test labels are not public, so the dev set is our test set. Validation is a seeded 872
  whole sentences of the training file (the size of dev), held out by sentence: that file holds
  every training sentence *and its phrases* (67,349 rows from about 6,900 sentences), so every row
  that is a phrase of a validation sentence leaves training too; otherwise validation measures
  memorisation (94.7 % there against 83 % on dev). Labels become negative/positive.
- ``imdb``: ``aclImdb_v1.tar.gz`` (Maas et al. 2011: 25,000 train and 25,000 test reviews, one
  file each under ``{train,test}/{pos,neg}``). A seeded 10 % of train is held out as validation;
  ``<br />`` tags become line breaks. Written as JSONL (reviews contain tabs and quotes).

Every written file is read back with the classifier's reader, so a bad download fails here.
"""

from __future__ import annotations

import io
import random
import tarfile
import zipfile
from pathlib import Path

from lstm_apps.apps.classifier.labelled_text import LabelledText, format_jsonl, read_labelled_texts
from lstm_apps.data.download import fetch
from lstm_apps.data.files import write_text_atomically
from lstm_apps.errors import UserError

DATASETS = {
    "sst2": "GLUE SST-2 sentiment sentences (dev set as test)",
    "imdb": "IMDB movie reviews, Maas et al. 2011 (JSONL)",
}
SOURCES = {
    "sst2": {"base_url": "https://dl.fbaipublicfiles.com/glue/data", "archive": "SST-2.zip"},
    "imdb": {"base_url": "https://ai.stanford.edu/~amaas/data/sentiment", "archive": "aclImdb_v1.tar.gz"},
}
SENTIMENT = {"0": "negative", "1": "positive", "neg": "negative", "pos": "positive"}


def _held_out(
    examples: list[LabelledText], count: int, seed: int = 0
) -> tuple[list[LabelledText], list[LabelledText]]:
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    chosen = set(order[:count])
    return [e for i, e in enumerate(examples) if i not in chosen], [
        e for i, e in enumerate(examples) if i in chosen
    ]


def whole_sentences(texts: list[str]) -> list[str]:
    """The rows that are no phrase of a longer row (SST's full sentences), longest first.
    Tokens are space-separated, so a phrase is a substring at word boundaries."""
    found: list[str] = []
    seen = ""
    for text in sorted(set(texts), key=len, reverse=True):
        if f" {text} " not in seen:
            found.append(text)
            seen += f"\n {text} "
    return found


def _held_out_sentences(
    examples: list[LabelledText], most: int, seed: int = 0
) -> tuple[list[LabelledText], list[LabelledText]]:
    """``most`` (at most a fifth) seeded whole sentences as validation; training keeps every row
    that is not one of them or a phrase of one."""
    sentences = whole_sentences([e.text for e in examples])
    count = min(most, len(sentences) // 5 or 1)
    chosen = sorted(random.Random(seed).sample(range(len(sentences)), count))
    held = "".join(f"\n {sentences[i]} " for i in chosen)
    first: dict[str, LabelledText] = {}
    for example in examples:
        first.setdefault(example.text, example)
    val = [first[sentences[i]] for i in chosen]
    train = [e for e in examples if f" {e.text} " not in held]
    return train, val


def _sst2(archive: Path) -> dict[str, list[LabelledText]]:
    def read(bundle: zipfile.ZipFile, member: str) -> list[LabelledText]:
        lines = bundle.read(member).decode("utf-8").splitlines()
        examples = []
        for number, line in enumerate(lines[1:], start=2):
            sentence, _, label = line.rpartition("\t")
            if label not in ("0", "1") or not sentence.strip():
                raise UserError(f"{archive}!{member}:{number}: expected 'sentence<TAB>0|1'")
            examples.append(LabelledText(sentence.strip(), [SENTIMENT[label]]))
        return examples

    try:
        with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as bundle:
            train, test = read(bundle, "SST-2/train.tsv"), read(bundle, "SST-2/dev.tsv")
    except (zipfile.BadZipFile, KeyError) as err:
        raise UserError(f"{archive}: not the expected zip archive ({err})") from None
    train, val = _held_out_sentences(train, most=872)
    return {"train": train, "val": val, "test": test}


def _imdb(archive: Path) -> dict[str, list[LabelledText]]:
    parts: dict[str, list[LabelledText]] = {"train": [], "test": []}
    try:
        with tarfile.open(archive, "r:gz") as bundle:
            for member in sorted(bundle.getmembers(), key=lambda m: m.name):
                pieces = member.name.split("/")
                if (
                    not member.isfile()
                    or len(pieces) != 4
                    or pieces[1] not in parts
                    or pieces[2] not in ("pos", "neg")
                ):
                    continue
                handle = bundle.extractfile(member)
                if handle is None:  # only files have contents, and isfile() held
                    continue
                text = handle.read().decode("utf-8")
                parts[pieces[1]].append(
                    LabelledText(text.replace("<br />", "\n").strip(), [SENTIMENT[pieces[2]]])
                )
    except (tarfile.TarError, OSError, EOFError) as err:
        raise UserError(f"{archive}: not the expected tar.gz archive ({err})") from None
    if not parts["train"] or not parts["test"]:
        raise UserError(f"{archive}: no aclImdb/{{train,test}}/{{pos,neg}}/*.txt reviews inside")
    train, val = _held_out(parts["train"], max(1, len(parts["train"]) // 10))
    return {"train": train, "val": val, "test": parts["test"]}


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Fetch and arrange ``name``; return ``{"train": path, "val": path, "test": path}``."""
    if name not in SOURCES:
        raise UserError(f"unknown corpus '{name}' (available: {', '.join(SOURCES)})")
    target = out_dir / name
    base = (base_url or SOURCES[name]["base_url"]).rstrip("/")
    archive = fetch(f"{base}/{SOURCES[name]['archive']}", target / "raw" / SOURCES[name]["archive"])
    splits = _sst2(archive) if name == "sst2" else _imdb(archive)
    written = {}
    for split, examples in splits.items():
        if name == "sst2":
            path = target / f"{split}.tsv"
            write_text_atomically(
                path, "text\tlabel\n" + "".join(f"{e.text}\t{e.labels[0]}\n" for e in examples)
            )
        else:
            path = target / f"{split}.jsonl"
            write_text_atomically(path, format_jsonl(examples))
        read_labelled_texts(path, f"{name}.{split}")
        written[split] = path
    return written
