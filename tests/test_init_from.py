"""init_from: a run starts from a checkpoint's weights (same app) or a language model's embedding
and encoder (across apps), prints one loading table, and strict mode fails in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lightning as L
import pytest
import torch

from helpers.config import compose_config
from lstm_apps.apps.classifier.tiny import tiny_classifier_overrides, write_labelled
from lstm_apps.apps.seq2seq.tiny import tiny_seq2seq_overrides, write_pairs
from lstm_apps.apps.tagger.tiny import tiny_tagger_overrides, write_conll
from lstm_apps.apps.textgen.tiny import tiny_textgen_overrides, write_tiny_corpus
from lstm_apps.errors import UserError
from lstm_apps.pipeline.train import train

pytestmark = pytest.mark.slow


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def _rows(run: Path) -> dict[str, tuple[str, str]]:
    """The loading table the run kept: tensor -> (status, from / why)."""
    rows = {}
    for line in (run / "init_from.txt").read_text().splitlines()[2:-1]:
        name, status, *detail = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        rows[name] = (status, detail[0] if detail else "")
    return rows


def _checkpoint(run: Path) -> Path:
    return run / "checkpoints" / "last.ckpt"


def _untrained(overrides: list[str], run: Path) -> list[str]:
    """``overrides`` that stop before the first optimiser step: the test reads what init_from
    loaded (``Initial``), not what training made of it."""
    return [*overrides, "trainer.max_steps=0", "test_after_fit=false"]


class Initial(L.Callback):
    """The model's tensors and fitted state when fitting starts."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        self.fitted = dict(pl_module.fitted_state)


def _initial(overrides: list[str], run: Path) -> Initial:
    seen = Initial()
    train(compose_config("train", _untrained(overrides, run), run), [seen])
    return seen


def _word_lm(text: Path, run: Path, *extra: str) -> Path:
    """A tiny word-level language model of ``text`` (textgen), trained in ``run``; its checkpoint."""
    corpus = {"train": text, "val": text, "test": text}
    overrides = [
        *tiny_textgen_overrides(corpus),
        "data.tokenizer=word",
        "data.bptt=4",
        "model.embedding_dim=16",
        "model.hidden_size=32",
        "test_after_fit=false",
        *extra,
    ]
    train(compose_config("train", overrides, run))
    return _checkpoint(run)


def _conll_text(conll: Path, text: Path) -> Path:
    """The words of a CoNLL file as one line of plain text."""
    lines = conll.read_text().splitlines()
    text.write_text(
        " ".join(line.split()[0] for line in lines if line.strip() and "DOCSTART" not in line) + "\n"
    )
    return text


@pytest.fixture(scope="module")
def word_lms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A forward and a backward word LM (textgen, whitespace words) of the same tokenizer, on
    text whose words the tagger and classifier fixtures share."""
    root = tmp_path_factory.mktemp("lms")
    conll = write_conll(root / "conll", repeat=3)
    text = _conll_text(conll, root / "text.txt")
    made = {
        "forward": _word_lm(text, root / "forward", "model.num_layers=2"),
        "backward": _word_lm(text, root / "backward", "model.num_layers=2", "data.reverse=true"),
    }
    made["conll"] = conll
    return made


def test_tagger_encoder_starts_from_a_pair_of_language_models(
    word_lms: dict[str, Path], tmp_path: Path
) -> None:
    overrides = [
        *tiny_tagger_overrides(word_lms["conll"]),
        f"init_from={word_lms['forward']}",
        f"init_from_backward={word_lms['backward']}",
    ]
    seen = _initial(overrides, tmp_path)
    tagger = seen.state
    forward, backward = _state(word_lms["forward"]), _state(word_lms["backward"])

    assert torch.equal(tagger["net.word_embedding.weight"], forward["net.embedding.weight"])
    for kind in ("weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        assert torch.equal(tagger[f"net.encoder.rnn.{kind}"], forward[f"net.rnn.rnn.{kind}"])
        assert torch.equal(tagger[f"net.encoder.rnn.{kind}_reverse"], backward[f"net.rnn.rnn.{kind}"])
    # The tagger's layer reads words then character features: the LM fills the word columns.
    for suffix, lm in (("", forward), ("_reverse", backward)):
        weight = tagger[f"net.encoder.rnn.weight_ih_l0{suffix}"]
        assert torch.equal(weight[:, :16], lm["net.rnn.rnn.weight_ih_l0"])
        assert torch.count_nonzero(weight[:, 16:]) == 0

    rows = _rows(tmp_path)
    assert rows["net.encoder.rnn.weight_ih_l0"] == (
        "partly",
        "lm:net.rnn.rnn.weight_ih_l0; columns 0:16 of 32, the rest zero",
    )
    assert rows["net.encoder.rnn.weight_hh_l0_reverse"] == ("loaded", "lm_backward:net.rnn.rnn.weight_hh_l0")
    assert rows["net.word_embedding.weight"] == ("loaded", "lm:net.embedding.weight")
    assert rows["net.emission.weight"] == ("fresh", "not part of the transfer")
    assert rows["lm:net.rnn.rnn.weight_hh_l1"][0] == "ignored", "the LM's second layer is not used"
    # The tagger took the LM's word tokenizer, so its rows mean the LM's words.
    lm_fitted = torch.load(word_lms["forward"], map_location="cpu", weights_only=True)["lstm_apps"][
        "fitted_state"
    ]
    assert seen.fitted["words"] == lm_fitted["tokenizer"]


def test_one_language_model_fills_the_forward_direction_and_says_so(
    word_lms: dict[str, Path], tmp_path: Path
) -> None:
    labelled = write_labelled(tmp_path / "data", fmt="tsv")
    overrides = [
        *tiny_classifier_overrides(labelled),
        f"init_from={word_lms['forward']}",
        "model.embedding_dim=16",
        "model.hidden_size=32",
    ]
    _initial(overrides, tmp_path / "run")
    rows = _rows(tmp_path / "run")
    assert rows["net.encoder.rnn.weight_hh_l0"][0] == "loaded"
    assert rows["net.encoder.rnn.weight_hh_l0_reverse"] == (
        "fresh",
        "backward direction: no backward language model (init_from_backward)",
    )

    with pytest.raises(UserError, match=r"^init_from_strict: \d+ tensor\(s\) do not load whole: .*_reverse"):
        train(
            compose_config(
                "train",
                [*_untrained(overrides, tmp_path / "strict"), "init_from_strict=true"],
                tmp_path / "strict",
            )
        )


def test_a_shape_that_cannot_map_is_one_line_naming_both(word_lms: dict[str, Path], tmp_path: Path) -> None:
    labelled = write_labelled(tmp_path / "data", fmt="tsv")
    overrides = [
        *tiny_classifier_overrides(labelled),
        f"init_from={word_lms['forward']}",
        "model.embedding_dim=16",
        "model.hidden_size=24",
    ]
    with pytest.raises(
        UserError,
        match=r"^init_from: lm:net\.rnn\.rnn\.weight_ih_l0 is \[128, 16\] but net\.encoder\.rnn\.weight_ih_l0 is \[96, 16\]",
    ):
        train(compose_config("train", _untrained(overrides, tmp_path), tmp_path))


def test_a_backward_model_in_the_forward_slot_is_refused(word_lms: dict[str, Path], tmp_path: Path) -> None:
    overrides = [*tiny_tagger_overrides(word_lms["conll"]), f"init_from={word_lms['backward']}"]
    with pytest.raises(UserError, match="read its text reversed; it belongs in init_from_backward"):
        train(compose_config("train", _untrained(overrides, tmp_path), tmp_path))


def test_same_app_new_labels_keep_the_encoder_and_start_the_head_fresh(tmp_path: Path) -> None:
    """A classifier moved to a label set it was not trained on: the tokenizer is kept, the labels
    are fitted anew, and the output layer (its rows are labels) starts fresh."""
    first = write_labelled(tmp_path / "first", fmt="tsv")
    train(
        compose_config("train", [*tiny_classifier_overrides(first), "trainer.max_epochs=1"], tmp_path / "a")
    )
    relabelled = tmp_path / "second" / "train.tsv"
    relabelled.parent.mkdir()
    lines = first.read_text().splitlines()
    relabelled.write_text(
        "\n".join(
            [lines[0], *(f"{line.rsplit(chr(9), 1)[0]}\tnew_{i % 2}" for i, line in enumerate(lines[1:]))]
        )
        + "\n"
    )
    source = _checkpoint(tmp_path / "a")
    overrides = [
        *tiny_classifier_overrides(relabelled),
        f"init_from={source}",
        "init_from_fitted=[tokenizer]",
    ]
    before, after = _state(source), _initial(overrides, tmp_path / "b").state
    assert torch.equal(after["net.embedding.weight"], before["net.embedding.weight"])
    assert torch.equal(after["net.encoder.rnn.weight_hh_l0"], before["net.encoder.rnn.weight_hh_l0"])
    assert after["net.output.weight"].shape[0] == 2 != before["net.output.weight"].shape[0]
    rows = _rows(tmp_path / "b")
    assert rows["net.output.weight"] == ("fresh", "labels fitted anew (init_from_fitted)")
    assert rows["net.embedding.weight"] == ("loaded", "net.embedding.weight")

    keeping_labels = [*tiny_classifier_overrides(relabelled), f"init_from={source}"]
    with pytest.raises(UserError, match=r"label 'new_\d' does not occur .*; the labels are the checkpoint's"):
        train(compose_config("train", _untrained(keeping_labels, tmp_path / "d"), tmp_path / "d"))
    with pytest.raises(
        UserError, match=r"^init_from_strict: 2 tensor\(s\) do not load whole: net\.output\.weight"
    ):
        train(
            compose_config(
                "train", [*_untrained(overrides, tmp_path / "c"), "init_from_strict=true"], tmp_path / "c"
            )
        )


def test_same_app_keeps_the_fitted_state_and_restarts_the_steps(tmp_path: Path) -> None:
    corpus = write_tiny_corpus(tmp_path / "corpus")
    overrides = [*tiny_textgen_overrides(corpus), "test_after_fit=false"]
    train(compose_config("train", overrides, tmp_path / "a"))
    source = torch.load(_checkpoint(tmp_path / "a"), map_location="cpu", weights_only=True)
    train(compose_config("train", [*overrides, f"init_from={_checkpoint(tmp_path / 'a')}"], tmp_path / "b"))
    tuned = torch.load(_checkpoint(tmp_path / "b"), map_location="cpu", weights_only=True)
    assert tuned["global_step"] == source["global_step"], "the step count starts at zero again"
    assert tuned["lstm_apps"]["fitted_state"] == source["lstm_apps"]["fitted_state"]
    rows = _rows(tmp_path / "b")
    assert rows and all(status == "loaded" for status, _ in rows.values())


def test_seq2seq_encoder_and_source_tokenizer_come_from_a_language_model(tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs")
    sources = tmp_path / "sources.txt"
    sources.write_text("".join(line.split("\t")[0] + "\n" for line in pairs.read_text().splitlines()))
    lm = _word_lm(sources, tmp_path / "lm")
    seen = _initial([*tiny_seq2seq_overrides(pairs), f"init_from={lm}"], tmp_path / "run")
    lm_payload = torch.load(lm, map_location="cpu", weights_only=True)
    assert seen.fitted["source"] == lm_payload["lstm_apps"]["fitted_state"]["tokenizer"]
    assert seen.fitted["target"] != seen.fitted["source"], "the target side keeps its own tokenizer"
    assert torch.equal(
        seen.state["net.src_embedding.weight"], lm_payload["state_dict"]["net.embedding.weight"]
    )
    assert torch.equal(
        seen.state["net.encoder.rnn.weight_hh_l0"], lm_payload["state_dict"]["net.rnn.rnn.weight_hh_l0"]
    )
    assert _rows(tmp_path / "run")["net.decoder.output.weight"] == ("fresh", "not part of the transfer")


def test_what_cannot_start_from_a_checkpoint_is_one_line(word_lms: dict[str, Path], tmp_path: Path) -> None:
    labelled = write_labelled(tmp_path / "data", fmt="tsv")
    classifier = [*tiny_classifier_overrides(labelled), "model.embedding_dim=16", "model.hidden_size=32"]
    cases = [
        (
            [*classifier, f"init_from={word_lms['forward']}", "init_from_fitted=[tokenizer]"],
            r"^init_from_fitted: across apps it is all \(the language model's tokenizer\) or none$",
        ),
        (
            [*classifier, f"init_from_backward={word_lms['backward']}"],
            r"^init_from_backward: needs init_from",
        ),
        (
            [*classifier, f"init_from={word_lms['forward']}", f"init_from_backward={word_lms['forward']}"],
            r"^init_from_backward: .* read its text forwards \(train it with data\.reverse=true\)$",
        ),
        (
            [*classifier, f"init_from={tmp_path / 'missing.ckpt'}"],
            r"^init_from: file not found: ",
        ),
    ]
    for overrides, message in cases:
        with pytest.raises(UserError, match=message):
            train(compose_config("train", _untrained(overrides, tmp_path / "run"), tmp_path / "run"))


def test_the_tagger_refuses_a_tokenizer_that_cuts_inside_words(tmp_path: Path) -> None:
    conll = write_conll(tmp_path / "conll", repeat=3)
    lm = _word_lm(_conll_text(conll, tmp_path / "text.txt"), tmp_path / "lm", "data.word_split=punctuation")
    overrides = [*tiny_tagger_overrides(conll), f"init_from={lm}"]
    with pytest.raises(
        UserError, match=r"^init_from: the tagger reads whole words, .* data\.word_split=whitespace$"
    ):
        train(compose_config("train", _untrained(overrides, tmp_path / "run"), tmp_path / "run"))


def test_a_grown_vocabulary_keeps_the_rows_of_the_tokens_it_had(tmp_path: Path) -> None:
    """Textgen moved to a corpus with characters the first one lacked, its tokenizer fitted anew
    (``init_from_fitted=none``): the embedding rows of the characters both know are copied by
    character, the new characters' rows start fresh."""
    first = write_tiny_corpus(tmp_path / "first")
    overrides = [*tiny_textgen_overrides(first), "test_after_fit=false"]
    train(compose_config("train", overrides, tmp_path / "a"))
    source = torch.load(_checkpoint(tmp_path / "a"), map_location="cpu", weights_only=True)
    grown = tmp_path / "grown.txt"
    grown.write_text(first["train"].read_text() + "QXZ 0123456789 §¶\n")
    corpus = {"train": grown, "val": first["val"], "test": first["test"]}
    tuned = [
        *tiny_textgen_overrides(corpus),
        f"init_from={_checkpoint(tmp_path / 'a')}",
        "init_from_fitted=none",
    ]
    seen = _initial(tuned, tmp_path / "b")
    before = json.loads(source["lstm_apps"]["fitted_state"]["tokenizer"])["symbols"]
    after = json.loads(seen.fitted["tokenizer"])["symbols"]
    assert len(after) > len(before) and set(before) <= set(after)
    for symbol in ("e", " ", "<unk>"):
        row_before, row_after = before.index(symbol), after.index(symbol)
        assert torch.equal(
            seen.state["net.embedding.weight"][row_after],
            source["state_dict"]["net.embedding.weight"][row_before],
        ), symbol
    status, note = _rows(tmp_path / "b")["net.embedding.weight"]
    assert status == "partly" and f"; {len(before)} of {len(after)} rows by name" in note
    assert _rows(tmp_path / "b")["net.rnn.rnn.weight_hh_l0"][0] == "loaded"
