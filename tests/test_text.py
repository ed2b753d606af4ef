"""Tokenizers (char/BPE/word, JSON round trip) and the BPTT stream layout."""

from __future__ import annotations

import json

import pytest
import torch

from lstm_apps.apps.seq2seq.unknown_words import replace_unknown, source_words
from lstm_apps.apps.textgen.stream import BPTTWindows, stream_rows
from lstm_apps.errors import UserError
from lstm_apps.text.scores import translation_scores
from lstm_apps.text.tokenizer import UNK, CharTokenizer, tokenizer_from_json, train_tokenizer

TEXTS = ["def f(x):\n    return x  # café\n", "The function returns a value.\n\n", "tabs\tand  spaces"]


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_round_trip_is_exact_and_json_restores_the_same_ids(kind: str) -> None:
    tok = train_tokenizer(kind, TEXTS * 20, vocab_size=300)
    for text in TEXTS:
        assert tok.decode(tok.encode(text)) == text
    payload = tok.to_json()
    assert json.loads(payload)["kind"] == kind  # plain JSON, no pickle
    again = tokenizer_from_json(payload)
    assert again.vocab_size == tok.vocab_size
    assert again.encode(TEXTS[0]) == tok.encode(TEXTS[0])


def test_lowercased_bpe_round_trips_the_lowercased_text() -> None:
    tok = train_tokenizer("bpe", TEXTS * 20, vocab_size=300, lowercase=True)
    assert tok.decode(tok.encode("The Function RETURNS")) == "the function returns"
    cased = train_tokenizer("bpe", TEXTS * 20, vocab_size=300)
    assert cased.decode(cased.encode("The Function")) == "The Function"


def test_bpe_merges_shorten_sequences() -> None:
    bpe = train_tokenizer("bpe", TEXTS * 50, vocab_size=400)
    char = train_tokenizer("char", TEXTS * 50)
    assert len(bpe.encode(TEXTS[1])) < len(char.encode(TEXTS[1]))


def test_char_tokenizer_maps_unseen_characters_to_unk() -> None:
    tok = CharTokenizer.train(["abc"])
    ids = tok.encode("abz")
    assert ids[-1] == tok.token_id(UNK)


def test_word_tokenizer_has_unknown_token() -> None:
    tok = train_tokenizer("word", ["a b c", "a b"], vocab_size=100)
    assert tok.decode(tok.encode("a b c")) == "a b c"
    assert tok.encode("zzz") == [tok.token_id(UNK)]


SENTENCES = ["Two young, White males are outside near many bushes.", "A man's T-shirt (red) -- 3.5 m."]


@pytest.mark.parametrize("lowercase", [False, True])
def test_reversible_word_split_decodes_to_the_original_spacing(lowercase: bool) -> None:
    tok = train_tokenizer("word", SENTENCES, vocab_size=100, lowercase=lowercase, word_split="reversible")
    for text in SENTENCES:
        expected = text.lower() if lowercase else text
        assert tok.decode(tok.encode(text)) == expected
    # Punctuation is its own token: "bushes." and "bushes" share the word's id.
    assert tok.encode("bushes")[0] in tok.encode("bushes.")
    assert len(tok.encode("bushes.")) == 2
    assert tok.decode(tok.encode("  A   man's  ")) == ("a man's" if lowercase else "A man's")
    again = tokenizer_from_json(tok.to_json())
    assert again.decode(again.encode(SENTENCES[1])) == tok.decode(tok.encode(SENTENCES[1]))


def test_whitespace_word_split_keeps_punctuation_on_the_word() -> None:
    tok = train_tokenizer("word", SENTENCES, vocab_size=100)
    assert len(tok.encode("bushes.")) == 1 and tok.encode("bushes.") != tok.encode("bushes")
    punctuation = train_tokenizer("word", SENTENCES, vocab_size=100, word_split="punctuation")
    assert punctuation.decode(punctuation.encode("many bushes.")) == "many bushes."
    assert len(punctuation.encode("bushes.")) == 2


def test_unknown_word_split_is_a_user_error() -> None:
    with pytest.raises(UserError, match="word split"):
        train_tokenizer("word", SENTENCES, word_split="spaces")  # type: ignore[arg-type]


def test_translation_scores_define_cased_and_lowercased_bleu() -> None:
    references = ["A man rides a red bicycle down the street.", "Two dogs play in the snow."]
    lowered = [r.lower() for r in references]
    cased = translation_scores(references, references)
    assert cased["bleu"] == pytest.approx(100.0) and cased["exact_match"] == 100.0
    scores = translation_scores(lowered, references)
    assert scores["bleu_lc"] == pytest.approx(100.0)
    assert scores["bleu"] < 90.0 and scores["chrf"] < 100.0 and scores["exact_match"] == 0.0
    assert translation_scores([], []) == {"bleu": 0.0, "bleu_lc": 0.0, "chrf": 0.0, "exact_match": 0.0}


def test_unknown_tokenizer_kind_is_a_user_error() -> None:
    with pytest.raises(UserError, match="tokenizer kind"):
        train_tokenizer("sentencepiece", TEXTS)


def test_batchify_rows_are_contiguous_and_windows_continue_them() -> None:
    ids = torch.arange(23)
    rows = stream_rows(ids, 3)
    assert rows.tolist()[1] == list(range(7, 14))
    windows = list(BPTTWindows(rows, bptt=3))
    assert len(windows) == len(BPTTWindows(rows, bptt=3)) == 2
    x0, y0 = windows[0]
    x1, y1 = windows[1]
    assert x0.tolist()[0] == [0, 1, 2] and y0.tolist()[0] == [1, 2, 3]
    assert x1.tolist()[0] == [3, 4, 5] and y1.tolist()[0] == [4, 5, 6]
    # Every target is the next token of the same row: nothing crosses a row boundary.
    covered = torch.cat([y for _, y in windows], dim=1)
    assert torch.equal(covered, rows[:, 1:])


def test_batchify_rejects_too_short_streams() -> None:
    with pytest.raises(ValueError, match="too short"):
        stream_rows(torch.arange(5), 4)


def test_unknown_words_become_the_source_words_they_attend_to() -> None:
    source = train_tokenizer("word", ["Ein Mann und eine Frau."], 100, word_split="reversible")
    target = train_tokenizer("word", ["A man and a woman."], 100, word_split="reversible")
    text = "Ein Mann namens Müller-Lüdenscheidt, 42."
    assert source_words(source, text) == [
        "▁Ein",
        "▁Mann",
        "▁namens",
        "▁Müller",
        "-",
        "Lüdenscheidt",
        ",",
        "▁42",
        ".",
    ]
    unk = target.token_id(UNK)
    sentence = target.encode("A man.")
    tokens = [*sentence[:-1], unk, unk, unk, sentence[-1]]
    attention = torch.zeros(len(tokens), 12)  # padded source positions past the sentence
    for step, position in enumerate([0, 1, 2, 3, 7, 8]):
        attention[step, position] = 1.0
    assert target.decode(tokens) == "A man."
    assert replace_unknown(target, source, tokens, attention, text) == "A man namens Müller 42."
    assert replace_unknown(target, source, tokens, None, text) == "A man."
    char = train_tokenizer("char", ["A man"])
    assert replace_unknown(char, source, char.encode("A man"), attention, text) == "A man"


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        (
            "It's 3.5% of 1,200 on the 2nd!",
            "it's three point five percent of one thousand two hundred on the second",
        ),
        ("Call 007 at 10:30, room #12", "call zero zero seven at ten thirty room number twelve"),
        ("The __call__() method", "the call method"),
        ("'quoted' text & more", "quoted text and more"),
        ("x = a + b", "x equals a plus b"),
        ("2004 and 3,500,017", "two thousand and four and three million five hundred thousand and seventeen"),
        ("the 23rd, the 40th", "the twenty third the fortieth"),
        ("  Spaces\tand\nlines  ", "spaces and lines"),
        ("naïve café", "na ve caf"),
    ],
)
def test_the_spoken_form_spells_numbers_reads_symbols_and_keeps_only_the_alphabet(
    written: str, spoken: str
) -> None:
    from lstm_apps.text.spoken_form import ALPHABET, spoken_form

    assert spoken_form(written) == spoken
    assert set(spoken_form(written)) <= ALPHABET


def test_number_words_reach_billions_and_refuse_negatives() -> None:
    from lstm_apps.text.spoken_form import number_words

    assert number_words(115) == "one hundred and fifteen"
    assert number_words(1_000_001) == "one million and one"
    assert number_words(2_000_000_000) == "two billion"
    with pytest.raises(ValueError, match="n >= 0"):
        number_words(-1)
