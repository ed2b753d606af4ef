"""Tagging schemes, span scores, CoNLL files, the generated NER corpus, word vectors, word split."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from seqeval.scheme import IOB2, IOBES, Entities

from lstm_apps.apps.tagger.baseline import DictionaryTagger
from lstm_apps.apps.tagger.conll import ConllFiles, TaggedSentence, format_conll, parse_conll, read_conll
from lstm_apps.apps.tagger.ner_corpus import FIRST_NAMES, PERSON_OR_MONTH, generate_splits
from lstm_apps.apps.tagger.span_scores import tagging_scores
from lstm_apps.apps.tagger.tag_schemes import (
    bioes_to_iob2,
    convert,
    iob1_to_iob2,
    iob2_to_bioes,
    is_legal,
    spans,
)
from lstm_apps.apps.tagger.word_split import split_words
from lstm_apps.errors import UserError
from lstm_apps.text.word_vectors import load_word_vectors


def test_scheme_conversions() -> None:
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"]
    assert iob1_to_iob2(iob1) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    iob2 = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    assert iob2_to_bioes(iob2) == ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-ORG", "E-ORG"]
    assert bioes_to_iob2(iob2_to_bioes(iob2)) == iob2
    assert convert(iob1, "iob1", "bioes") == iob2_to_bioes(iob1_to_iob2(iob1))
    assert convert(["NN", "VB"], "none", "none") == ["NN", "VB"]


def test_legality() -> None:
    assert is_legal(["B-PER", "I-PER", "O"], "iob2") and not is_legal(["O", "I-PER"], "iob2")
    assert not is_legal(["B-PER", "I-LOC"], "iob2")
    assert is_legal(["B-PER", "E-PER", "S-LOC"], "bioes") and not is_legal(["B-PER", "O"], "bioes")
    assert not is_legal(["B-PER"], "bioes") and not is_legal(["I-PER", "E-PER"], "bioes")


@pytest.mark.parametrize(
    ("scheme", "seqeval_scheme", "prefixes"), [("iob2", IOB2, "BI"), ("bioes", IOBES, "BIES")]
)
def test_span_extraction_matches_seqeval_strict_mode(
    scheme: str, seqeval_scheme: type, prefixes: str
) -> None:
    rng = random.Random(0)
    tagset = ["O"] + [f"{p}-{k}" for p in prefixes for k in ("PER", "LOC")]
    for _ in range(2000):
        tags = [rng.choice(tagset) for _ in range(rng.randint(1, 8))]
        theirs = sorted(
            (e.tag, e.start, e.end) for e in Entities([tags], seqeval_scheme, suffix=False).entities[0]
        )
        assert sorted(spans(tags, scheme)) == theirs, tags


def test_f1_equals_a_hand_computed_example() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "I-PER"]]
    # Gold spans: PER(0-2) LOC(3) | ORG(0) PER(2) = 4. Predicted well-formed spans: PER(0-2) ORG(3)
    # | ORG(0) = 3 (a lone I-PER is not a span in strict mode). Correct: PER(0-2), ORG(0) = 2.
    scores = tagging_scores(predicted, gold, "iob2")
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))
    assert scores.accuracy == pytest.approx(5 / 7)
    assert scores.per_type["PER"].recall == pytest.approx(0.5) and scores.per_type["PER"].precision == 1.0
    assert scores.per_type["ORG"].precision == pytest.approx(0.5) and scores.per_type["LOC"].support == 1
    assert "| **micro avg** | 66.67 | 50.00 | 57.14 | 4 |" in scores.table()
    assert tagging_scores([["NN", "VB"]], [["NN", "NN"]], "none").f1 == 0.5


CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O


Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
"""


def test_conll_reader_skips_docstart_and_blank_lines_and_converts_iob1(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text(CONLL)
    sentences = read_conll(path, "data.corpus.train", scheme="iob1")
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]]
    assert sentences[0].tags == ["B-ORG", "O", "B-MISC", "O"] and sentences[1].tags == ["B-PER", "I-PER"]
    assert sentences[0].rows[0] == ["EU", "NNP", "B-NP", "I-ORG"]
    chunks = read_conll(path, "k", tag_column=2, scheme="iob2")
    assert chunks[0].tags == ["B-NP", "B-VP", "B-NP", "I-NP"]
    tokens_only = parse_conll(CONLL, "x", tag_column=None)
    assert tokens_only[1].tags == [] and len(tokens_only) == 2
    again = parse_conll(format_conll(s.rows for s in sentences), "again", scheme="iob1")
    assert [s.tags for s in again] == [s.tags for s in sentences]


def test_conll_reader_rejects_malformed_lines_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("EU B-ORG\nrejects O\n\nGerman B-MISC extra\n")
    with pytest.raises(UserError, match=rf"^{path}:4: expected 2 columns .* found 3$"):
        read_conll(path, "data.corpus.train")
    path.write_text("EU B-ORG\nrejects X-ORG\n")
    with pytest.raises(UserError, match=rf"^{path}:2: tag 'X-ORG' is not O or B/I-TYPE"):
        read_conll(path, "data.corpus.train")
    path.write_text("EU B-ORG\n")
    with pytest.raises(UserError, match="data.corpus.val: file not found"):
        ConllFiles(str(path), str(tmp_path / "missing.txt")).load()
    with pytest.raises(UserError, match=rf"^{path}:1: no tag column 5"):
        read_conll(path, "k", tag_column=5)


def test_generated_corpus_is_deterministic_ambiguous_and_holds_out_names() -> None:
    sizes = {"train": 1500, "val": 300, "test": 300}
    splits = generate_splits(sizes, seed=3)
    assert [s.tokens for s in splits["test"]] == [s.tokens for s in generate_splits(sizes, seed=3)["test"]]
    assert all(
        is_legal(s.tags, "iob2") and len(s.tags) == len(s.tokens) for ss in splits.values() for s in ss
    )
    types: dict[str, set[str]] = {}
    for sentence in splits["train"]:
        for kind, start, end in spans(sentence.tags, "iob2"):
            for word in sentence.tokens[start:end]:
                types.setdefault(word, set()).add(kind)
    assert all(len(types.get(word, set())) >= 2 for word in PERSON_OR_MONTH), (
        "May/June… are people and months"
    )
    train_words = {w for s in splits["train"] for w in s.tokens}
    test_words = {w for s in splits["test"] for w in s.tokens}
    held_out = [name for name in FIRST_NAMES if name not in train_words]
    assert held_out and any(name in test_words for name in held_out), (
        "val/test contain names unseen in training"
    )


def test_dictionary_baseline_tags_longest_known_span_with_majority_type() -> None:
    train = [
        TaggedSentence(["Bank", "of", "Jordan", "rose"], ["B-ORG", "I-ORG", "I-ORG", "O"]),
        TaggedSentence(["in", "Jordan"], ["O", "B-LOC"]),
        TaggedSentence(["to", "Jordan"], ["O", "B-LOC"]),
        TaggedSentence(["Jordan", "said"], ["B-PER", "O"]),
    ]
    tagger = DictionaryTagger(train)
    assert tagger.tag(["Jordan", "met", "Bank", "of", "Jordan", "staff"]) == [
        "B-LOC",
        "O",
        "B-ORG",
        "I-ORG",
        "I-ORG",
        "O",
    ]


def test_word_vectors_fill_known_rows_exactly_or_by_lowercase(tmp_path: Path) -> None:
    path = tmp_path / "vectors.txt"
    path.write_text("3 2\nberlin 1 2\nBerlin 3 4\nthe 5 6\nunused 7 8\n")
    weight = torch.zeros(4, 2)
    found = load_word_vectors(path, ["<pad>", "Berlin", "The", "zzz"], weight, "model.word_vectors")
    assert found == 2
    assert weight.tolist() == [[0, 0], [3, 4], [5, 6], [0, 0]]  # exact match wins over lowercase
    path.write_text("berlin 1 2 3\n")
    with pytest.raises(UserError, match=rf"{path}:1: vector has 3 values, model.word_vectors needs 2"):
        load_word_vectors(path, ["berlin"], torch.zeros(1, 2), "model.word_vectors")


def test_split_words_keeps_abbreviations_and_offsets() -> None:
    text = "Mr. Smith visited the U.S. and Rio-Grande on Monday, didn't he?"
    words = split_words(text)
    assert [w for w, _, _ in words] == [
        "Mr.",
        "Smith",
        "visited",
        "the",
        "U.S.",
        "and",
        "Rio-Grande",
        "on",
        "Monday",
        ",",
        "didn't",
        "he",
        "?",
    ]
    assert all(text[start:end] == word for word, start, end in words)
