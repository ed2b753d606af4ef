"""The speech recogniser: features, augmentation, front-end lengths, CTC decoding (against brute
force), the character LM, audio and manifest readers with their one-line errors, the synthesised
corpus, overfitting, and the CLI (train -> predict -> eval) on tiny synthesised speech."""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from helpers.config import compose_config
from helpers.running import run_main
from helpers.serving import (
    Server,
    browser_or_skip,
    check_info,
    open_playground,
    predictor_of,
    served,
    still_serves,
    submit_and_wait,
    trained,
)
from lstm_apps.apps.asr.audio import read_audio, resample, write_wav
from lstm_apps.apps.asr.ctc_search import greedy_search, prefix_beam_search
from lstm_apps.apps.asr.espeak import Synthesiser, Voice
from lstm_apps.apps.asr.features import LogMelFeatures, SpecAugment, mel_filterbank
from lstm_apps.apps.asr.grammar import number_words, ordinal_words, utterance_text, vocabulary, year_words
from lstm_apps.apps.asr.manifest import read_manifest
from lstm_apps.apps.asr.network import SpeechNetwork
from lstm_apps.apps.asr.ngram_lm import UnitNgram
from lstm_apps.apps.asr.spoken_corpus import VARIANTS, GeneratedSpokenCorpus
from lstm_apps.apps.asr.tiny import SPOKEN, tiny_asr_overrides, write_speech
from lstm_apps.apps.asr.units import OutputUnits
from lstm_apps.apps.preparation import datasets
from lstm_apps.errors import UserError
from lstm_apps.pipeline.train import train

UNITS = ["", "a", "b", " "]


def ids(texts: list[str]) -> list[list[int]]:
    """``UNITS`` ids of each text."""
    return [[UNITS.index(ch) for ch in text] for text in texts]


def network(**settings: object) -> SpeechNetwork:
    defaults: dict[str, object] = {"conv_channels": 8, "hidden_size": 8, "num_layers": 1, "dropout": 0.0}
    return SpeechNetwork(UNITS, 16_000, 20, 25.0, 10.0, [0.0] * 20, [1.0] * 20, **{**defaults, **settings})


# -- features ---------------------------------------------------------------------------------
def test_mel_filters_are_triangles_covering_the_band_in_order() -> None:
    filters = mel_filterbank(512, 40, 16_000)
    assert filters.shape == (257, 40)
    assert (filters >= 0).all() and float(filters.max()) <= 1.0
    peaks = filters.argmax(0)
    assert torch.all(peaks[1:] >= peaks[:-1]) and peaks[-1] > peaks[0]
    assert (filters.sum(1)[5:-5] > 0).all()  # every inner frequency is seen by some filter


def test_a_tone_lights_the_mel_bin_of_its_frequency_and_frames_never_reach_the_padding() -> None:
    features = LogMelFeatures(16_000, 40, 25.0, 10.0)
    t = torch.arange(16_000) / 16_000
    tone = (0.5 * torch.sin(2 * math.pi * 1000 * t) * 32767).to(torch.int16)
    mel = features(tone.unsqueeze(0))[0]
    assert mel.shape == (int(features.frames(torch.tensor(16_000))), 40) == (97, 40)
    centres = mel_filterbank(features.n_fft, 40, 16_000).argmax(0) * 8000 / (features.n_fft // 2)
    assert abs(float(centres[mel.mean(0).argmax()]) - 1000) < 120
    # A shorter utterance padded with zeros: its frames equal the unpadded ones.
    padded = torch.zeros(2, 16_000, dtype=torch.int16)
    padded[0], padded[1, :8000] = tone, tone[:8000]
    both = features(padded)
    frames = int(features.frames(torch.tensor(8000)))
    assert torch.allclose(both[1, :frames], features(tone[:8000].unsqueeze(0))[0], atol=1e-4)


def test_specaugment_masks_only_in_training_and_time_masks_stay_inside_each_utterance() -> None:
    torch.manual_seed(0)
    augment = SpecAugment(freq_masks=2, freq_width=5, time_masks=2, time_width=10)
    features = torch.ones(8, 100, 20)
    frames = torch.tensor([100, 80, 60, 50, 40, 30, 20, 10])
    augment.eval()
    assert torch.equal(augment(features, frames), features)
    augment.train()
    masked = augment(features, frames) == 0
    assert masked.any()
    whole_frames = masked.all(2)  # time masks blank every bin of a frame
    for row, n in enumerate(frames.tolist()):
        assert not whole_frames[row, n:].any() or n == 100
        assert int(whole_frames[row].sum()) <= 2 * max(1, n // 5)
    bands = masked.all(1)  # frequency masks blank every frame of a bin
    assert int(bands.sum(1).max()) <= 2 * 5


# -- the network ------------------------------------------------------------------------------
@pytest.mark.parametrize("subsampling", [1, 2, 3, 4])
def test_output_lengths_match_the_front_end_and_padding_changes_nothing(subsampling: int) -> None:
    torch.manual_seed(0)
    net = network(subsampling=subsampling).eval()
    audio = (torch.randn(2, 8000) * 3000).to(torch.int16)
    lengths = torch.tensor([8000, 5000])
    log_probs, steps = net(audio, lengths)
    expected = net.output_lengths(net.frame_lengths(lengths))
    assert torch.equal(steps, expected) and log_probs.size(1) == int(expected[0])
    alone, alone_steps = net(audio[1:, :5000], lengths[1:])
    assert int(alone_steps[0]) == int(steps[1])
    assert torch.allclose(log_probs[1, : int(steps[1])], alone[0], atol=1e-5)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2, log_probs.size(1)), atol=1e-4)


def test_augmentation_runs_in_training_only() -> None:
    net = network(speed_perturbation=0.2, gain_db=6.0).train()
    audio = (torch.randn(2, 8000) * 3000).to(torch.int16)
    lengths = torch.tensor([8000, 6000])
    torch.manual_seed(1)
    _, trained_steps = net(audio, lengths)
    net.eval()
    log_probs, steps = net(audio, lengths)
    again, _ = net(audio, lengths)
    assert torch.equal(log_probs, again)  # no randomness in eval
    assert not torch.equal(trained_steps, steps)  # the speed factor changed the lengths


# -- decoding ---------------------------------------------------------------------------------
def brute_force_best(log_probs: torch.Tensor, steps: int) -> tuple[int, ...]:
    """The most probable collapsed labelling, summing every path of ``steps`` frames."""
    totals: dict[tuple[int, ...], float] = {}
    units = log_probs.size(1)
    for path in itertools.product(range(units), repeat=steps):
        score = float(sum(log_probs[t, u] for t, u in enumerate(path)))
        label = tuple(u for i, u in enumerate(path) if u != 0 and (i == 0 or u != path[i - 1]))
        totals[label] = float(np.logaddexp(totals.get(label, -math.inf), score))
    return max(totals, key=lambda label: totals[label])


def test_prefix_beam_search_with_a_wide_beam_finds_the_most_probable_labelling() -> None:
    torch.manual_seed(0)
    for _ in range(10):
        log_probs = (torch.randn(3, 5, 3) * 2).log_softmax(-1)
        lengths = torch.tensor([5, 4, 2])
        found = prefix_beam_search(log_probs, lengths, beam_size=40)
        for row in range(3):
            assert tuple(found[row][0]) == brute_force_best(log_probs[row], int(lengths[row]))


def test_greedy_merges_repeats_drops_blanks_and_stops_at_the_length() -> None:
    probs = torch.tensor(
        [[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    )
    log_probs = probs.log().unsqueeze(0).repeat(2, 1, 1)
    assert greedy_search(log_probs, torch.tensor([5, 3])) == [[1, 1, 2], [1]]


def test_n_best_lists_are_distinct_and_sorted() -> None:
    torch.manual_seed(3)
    log_probs = (torch.randn(2, 6, 4) * 2).log_softmax(-1)
    found = prefix_beam_search(log_probs, torch.tensor([6, 6]), beam_size=6, n_best=4)
    for hypotheses in found:
        assert len(hypotheses) == 4 and len({tuple(h) for h in hypotheses}) == 4


def test_the_language_model_is_a_distribution_and_steers_the_search() -> None:
    lm = UnitNgram.count(ids(["ab ab ab", "ab ab"]), UNITS, order=3)
    contexts = torch.tensor([[0, 0], [0, 1], [1, 2], [2, 3], [3, 3]])
    probs = lm.next_log_probs(contexts).exp()
    probs[:, 0] = 0
    assert torch.allclose(probs.sum(1), torch.ones(5), atol=1e-5)
    assert float(probs[1, 2]) > 0.5  # after "a" comes "b"
    # A frame that sounds a little more like " " than "b" after "a": the LM, for which "b"
    # always follows "a", turns it into "ab".
    frames = torch.tensor([[0.05, 0.9, 0.0, 0.05], [0.1, 0.0, 0.4, 0.5]])
    log_probs = (frames + 1e-4).log().unsqueeze(0)
    plain = prefix_beam_search(log_probs, torch.tensor([2]), beam_size=8)[0][0]
    fused = prefix_beam_search(log_probs, torch.tensor([2]), beam_size=8, lm=lm, lm_weight=2.0)[0][0]
    assert plain == [1, 3] and fused == [1, 2]


def test_a_saved_language_model_loads_with_the_same_scores_and_refuses_other_units(tmp_path: Path) -> None:
    lm = UnitNgram.count(ids(["ab ba", "abba"]), UNITS, order=4)
    lm.save(tmp_path / "lm.npz")
    loaded = UnitNgram.load(tmp_path / "lm.npz", UNITS)
    contexts = torch.tensor([[0, 1, 2], [3, 1, 1]])
    assert torch.equal(lm.next_log_probs(contexts), loaded.next_log_probs(contexts))
    with pytest.raises(UserError, match="made for the units"):
        UnitNgram.load(tmp_path / "lm.npz", ["", "x", "y", " "])
    (tmp_path / "bad.npz").write_text("no")
    with pytest.raises(UserError, match="not a character language model"):
        UnitNgram.load(tmp_path / "bad.npz", UNITS)


# -- text, audio and manifests ----------------------------------------------------------------
def test_characters_name_the_line_and_the_characters_outside_the_vocabulary() -> None:
    characters = OutputUnits.fit(iter(["Go  Left", "stop"]), "chars", 500, lowercase=True, unknown="error")
    assert characters.units == ["", " ", "e", "f", "g", "l", "o", "p", "s", "t"]
    assert characters.decode(characters.encode("go left", "x")) == "go left"
    with pytest.raises(UserError, match=r"m.jsonl:3: 2 character\(s\) .*'!', 'z'"):
        characters.encode("zoo!", "m.jsonl:3")
    dropping = OutputUnits.from_state(characters.to_state(), unknown="drop")
    assert dropping.units == characters.units and dropping.decode(dropping.encode("zoo!", "x")) == "oo"


def test_bpe_units_round_trip_and_are_fewer_than_characters() -> None:
    texts = [utterance_text(random.Random(seed)) for seed in range(300)]
    bpe = OutputUnits.fit(iter(texts), "bpe", 400, lowercase=True, unknown="error")
    assert bpe.units[0] == "" and len(bpe.units) == 401
    for text in texts[:20]:
        encoded = bpe.encode(text, "x")
        assert 0 not in encoded and bpe.decode(encoded) == text
    assert sum(len(bpe.encode(t, "x")) for t in texts) < 0.6 * sum(len(t) for t in texts)
    again = OutputUnits.from_state(bpe.to_state())
    assert again.encode(texts[0], "x") == bpe.encode(texts[0], "x")
    with pytest.raises(UserError, match="1 character"):
        bpe.encode("café", "m.jsonl:2")


def test_audio_is_downmixed_resampled_and_bad_files_are_one_line(tmp_path: Path) -> None:
    import soundfile

    t = np.arange(44_100) / 44_100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1) * 0.5
    soundfile.write(tmp_path / "stereo.flac", stereo, 44_100)
    audio = read_audio(tmp_path / "stereo.flac", 16_000)
    assert audio.dtype == np.int16 and abs(len(audio) - 16_000) <= 1
    assert abs(np.abs(audio).max() / 32767 - 0.25) < 0.02  # mean of the two channels
    assert abs(len(resample(np.zeros(22_050, np.float32), 22_050, 16_000, "x")) - 16_000) <= 1
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(UserError, match=r"m.jsonl:4: .*text.wav: not an audio file"):
        read_audio(tmp_path / "text.wav", 16_000, "m.jsonl:4")
    with pytest.raises(UserError, match="audio file not found"):
        read_audio(tmp_path / "missing.wav", 16_000)
    write_wav(tmp_path / "short.wav", np.zeros(400, np.int16), 16_000)
    with pytest.raises(UserError, match="25 ms of audio, shorter than the front end's receptive field"):
        read_audio(tmp_path / "short.wav", 16_000)
    soundfile.write(tmp_path / "empty.wav", np.zeros((0, 1)), 16_000)
    with pytest.raises(UserError, match="holds no samples"):
        read_audio(tmp_path / "empty.wav", 16_000)
    soundfile.write(tmp_path / "odd.wav", np.zeros(44_099), 44_099)
    with pytest.raises(UserError, match="44099 Hz cannot be resampled"):
        read_audio(tmp_path / "odd.wav", 16_000)


def test_manifests_in_json_lines_and_tsv_resolve_paths_and_name_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"audio_filepath": "a.wav", "duration": 1.0, "text": "hi"})
        + "\n\n"
        + json.dumps({"audio_filepath": "/abs/b.wav", "text": "yo"})
        + "\n"
    )
    entries = list(read_manifest(tmp_path / "m.jsonl", "data.corpus.train"))
    assert [(e.audio, e.text, e.where) for e in entries] == [
        (tmp_path / "a.wav", "hi", f"{tmp_path / 'm.jsonl'}:1"),
        (Path("/abs/b.wav"), "yo", f"{tmp_path / 'm.jsonl'}:3"),
    ]
    (tmp_path / "h.tsv").write_text("audio_filepath\tduration\ttext\nx.flac\t1.2\thello there\n")
    assert [(e.audio.name, e.text) for e in read_manifest(tmp_path / "h.tsv", "k")] == [
        ("x.flac", "hello there")
    ]
    (tmp_path / "p.tsv").write_text("x.flac\thello\n")
    assert [e.text for e in read_manifest(tmp_path / "p.tsv", "k")] == ["hello"]
    for body, message in (
        ('{"audio_filepath": "a.wav"}\n', r"bad.jsonl:1: 'text' is missing"),
        ("{oops\n", r"bad.jsonl:1: not valid JSON"),
    ):
        (tmp_path / "bad.jsonl").write_text(body)
        with pytest.raises(UserError, match=message):
            list(read_manifest(tmp_path / "bad.jsonl", "k"))
    (tmp_path / "bad.tsv").write_text("a.wav\tone\ttwo\n")
    with pytest.raises(UserError, match=r"bad.tsv:1: expected path<TAB>text, got 3 cells"):
        list(read_manifest(tmp_path / "bad.tsv", "k"))
    with pytest.raises(UserError, match="data.corpus.val: manifest not found"):
        list(read_manifest(tmp_path / "none.jsonl", "data.corpus.val"))


# -- the synthesised corpus -------------------------------------------------------------------
def test_grammar_says_numbers_dates_and_times_in_words_with_hundreds_of_words() -> None:
    assert number_words(412) == "four hundred and twelve"
    assert number_words(2005) == "two thousand and five"
    assert number_words(7340) == "seven thousand three hundred and forty"
    assert ordinal_words(23) == "twenty third" and ordinal_words(30) == "thirtieth"
    assert year_words(1987) == "nineteen eighty seven" and year_words(1905) == "nineteen oh five"
    assert len(vocabulary()) >= 250
    texts = [utterance_text(random.Random(seed)) for seed in range(200)]
    assert all(t == t.lower() and not any(ch.isdigit() for ch in t) for t in texts)
    assert sum(len(t.split()) for t in texts) / len(texts) >= 4


GENERATE = "import sys; from lstm_apps.apps.asr.spoken_corpus import GeneratedSpokenCorpus as C; C(sys.argv[1], 6, 3, 3).prepare()"


def test_synthesised_speech_is_deterministic_and_its_splits_share_no_voice(tmp_path: Path) -> None:
    assert not set(VARIANTS["test"]) & set(VARIANTS["train"])
    assert not set(VARIANTS["val"]) & (set(VARIANTS["train"]) | set(VARIANTS["test"]))
    # Each in a fresh process: eSpeak NG's output depends by a few samples on what the same
    # process synthesised before (and its waveforms may differ a little between runs).
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-c", GENERATE, str(tmp_path / name)], check=True)
    corpus = GeneratedSpokenCorpus(str(tmp_path / "a"), train_size=6, val_size=3, test_size=3)
    again = GeneratedSpokenCorpus(str(tmp_path / "b"), train_size=6, val_size=3, test_size=3)
    rows = {}
    for split in ("train", "val", "test"):
        lines = [json.loads(line) for line in corpus.manifests()[split].read_text().splitlines()]
        other = [json.loads(line) for line in again.manifests()[split].read_text().splitlines()]
        assert lines == other  # texts, voices, durations
        rows[split] = {row["voice"].split("+")[1] for row in lines}
        assert rows[split] <= set(VARIANTS[split])
        first = read_audio(corpus.folder() / lines[0]["audio_filepath"], 16_000)
        assert abs(len(first) / 16_000 - lines[0]["duration"]) < 1e-3
    assert [u.text for u in corpus.records("test")] == [
        json.loads(x)["text"] for x in corpus.manifests()["test"].read_text().splitlines()
    ]


def test_open_sentences_are_prose_in_spoken_form_and_each_in_one_split_only() -> None:
    from lstm_apps.apps.asr.open_sentences import prose_sentences, sentences_by_split, split_of, unseen_share

    text = (
        "A call calls a callable object (e.g., a *function*) with arguments.\n\n"
        '   call ::= primary "(" [argument_list] ")"\n\n'
        'The "__call__()" method is looked up. Values are 3.5% of 1,200 here! Too short. '
        "When all arguments have been processed, the slots that are still unfilled are filled "
        "with the corresponding default value from the function definition."
    )
    assert prose_sentences(text) == ["values are three point five percent of one thousand two hundred here"]
    by_split = sentences_by_split()
    assert min(len(v) for v in by_split.values()) >= 400 and len(by_split["train"]) >= 5000
    assert not set(by_split["test"]) & set(by_split["train"]) and not set(by_split["val"]) & set(
        by_split["train"]
    )
    assert all(split_of(sentence) == split for split, found in by_split.items() for sentence in found)
    assert all(set(sentence) <= set("abcdefghijklmnopqrstuvwxyz' ") for sentence in by_split["test"])
    assert unseen_share(["the cat", "a dog"], ["the bird", "a cat"]) == 0.25


def test_the_open_corpus_mixes_held_out_sentences_with_the_grammar_and_leaves_the_grammar_corpus_as_it_was(
    tmp_path: Path,
) -> None:
    from lstm_apps.apps.asr.open_sentences import sentences_by_split

    grammar_only = GeneratedSpokenCorpus(str(tmp_path), train_size=50, val_size=20, test_size=20)
    drawn = random.Random(0)
    assert list(grammar_only.texts("train", random.Random(0))) == [utterance_text(drawn) for _ in range(50)]
    opened = GeneratedSpokenCorpus(str(tmp_path), train_size=200, val_size=50, test_size=100, open_share=0.5)
    assert opened.folder() != grammar_only.folder() and opened.folder().name.endswith("-open0.5")
    rng = random.Random(0)
    texts = {split: list(opened.texts(split, rng)) for split in ("train", "val", "test")}
    test_sentences = set(sentences_by_split()["test"])
    open_test = [t for t in texts["test"] if t in test_sentences]
    assert 30 <= len(open_test) <= 70  # about half
    assert not set(texts["train"]) & test_sentences
    # Its LM text: the sources' other sentences and grammar utterances, never a val or test sentence.
    lm_text = list(opened.language_model_texts() or [])
    held_out = set(sentences_by_split()["val"]) | test_sentences
    assert len(lm_text) > 20_000 and not set(lm_text) & held_out
    spoken_in_training = set(sentences_by_split()["train"])
    assert sum(text in spoken_in_training for text in lm_text) > 5000
    assert grammar_only.language_model_texts() is None  # the grammar's own transcripts count


def test_the_synthesiser_refuses_an_unknown_voice() -> None:
    with pytest.raises(UserError, match="no voice 'en-us\\+nobody'"):
        Synthesiser().speak("hello", Voice("en-us", "nobody"))


# -- training and the command line --------------------------------------------------------------
@pytest.mark.slow
def test_overfits_tiny_speech_to_exact_transcripts(tmp_path: Path) -> None:
    manifest = write_speech(tmp_path / "speech", voices=("m1",))
    overrides = [
        *tiny_asr_overrides(manifest),
        "model.hidden_size=64",
        "model.conv_channels=64",
        "model.subsampling=2",
        "model.freq_masks=0",
        "model.time_masks=0",
        "model.gain_db=0",
        "model.speed_perturbation=0",
        "model.test_beam_size=4",
        "data.batch_size=6",
        "optimizer.lr=0.005",
        "trainer.max_epochs=150",
        "trainer.check_val_every_n_epoch=50",
    ]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert metrics["test/wer"] == 0.0 and metrics["test/cer"] == 0.0, metrics


def test_predict_transcribes_a_clip_a_folder_and_a_manifest_and_names_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_speech(tmp_path / "speech", voices=("m1",))
    overrides = [*tiny_asr_overrides(manifest), "trainer.max_epochs=1", "test_after_fit=false"]
    train(compose_config("train", overrides, tmp_path / "run"))
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    monkeypatch.chdir(tmp_path)
    folder = manifest.parent
    for target, rows in ((folder / "m1-0.wav", 1), (folder, len(SPOKEN)), (manifest, len(SPOKEN))):
        capsys.readouterr()
        assert run_main(["predict", f"ckpt_path={ckpt}", f"input={target}", "beam_size=3"]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == rows and all(line.split("\t")[0].endswith(".wav") for line in lines)
    (tmp_path / "lm.txt").write_text("one two\nthree four\n")
    out = tmp_path / "out.tsv"
    assert (
        run_main(
            [
                "predict",
                f"ckpt_path={ckpt}",
                f"input={folder}",
                f"lm={tmp_path / 'lm.txt'}",
                f"output_file={out}",
            ]
        )
        == 0
    )
    assert len(out.read_text().splitlines()) == len(SPOKEN)
    (folder / "broken.wav").write_text("no")
    capsys.readouterr()
    assert run_main(["predict", f"ckpt_path={ckpt}", f"input={folder / 'broken.wav'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "broken.wav: not an audio file" in err and len(err.splitlines()) == 1
    assert run_main(["predict", f"ckpt_path={ckpt}", f"input={tmp_path / 'nowhere'}"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_val_characters_outside_the_training_transcripts_stop_preparation_with_the_line(
    tmp_path: Path,
) -> None:
    train_manifest = write_speech(tmp_path / "speech", voices=("m1",))
    rows = train_manifest.read_text().splitlines()
    val = tmp_path / "speech" / "val.jsonl"
    entry = json.loads(rows[0])
    entry["text"] = "one two!"
    val.write_text("\n".join([rows[1], json.dumps(entry)]) + "\n")
    overrides = [*tiny_asr_overrides(train_manifest), f"data.corpus.val={val}", "trainer.max_epochs=1"]
    with pytest.raises(UserError, match=r"val.jsonl:2: 1 character\(s\) the model has no unit for: '!'"):
        train(compose_config("train", overrides, tmp_path / "run"))


def _librispeech_archive(mirror: Path, part: str, speaker: int) -> None:
    """A ``<part>.tar.gz`` laid out as OpenSLR's: LibriSpeech/<part>/<speaker>/<chapter>/…"""
    import tarfile

    import soundfile

    folder = mirror / "build" / "LibriSpeech" / part / str(speaker) / "100"
    folder.mkdir(parents=True)
    lines = []
    for i, text in enumerate(["HELLO WORLD", "IT'S A TEST"]):
        name = f"{speaker}-100-{i:04d}"
        soundfile.write(folder / f"{name}.flac", np.zeros(8000 + 1000 * i, dtype=np.int16), 16_000)
        lines.append(f"{name} {text}")
    (folder / f"{speaker}-100.trans.txt").write_text("\n".join(lines) + "\n")
    with tarfile.open(mirror / f"{part}.tar.gz", "w:gz") as bundle:
        bundle.add(mirror / "build" / "LibriSpeech", arcname="LibriSpeech")
    import shutil

    shutil.rmtree(mirror / "build")


def test_librispeech_is_prepared_from_a_mirror_into_manifests_the_reader_takes(tmp_path: Path) -> None:
    from lstm_apps.apps.asr.prepare import SPLITS, prepare

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for speaker, part in enumerate(SPLITS.values(), start=1):
        _librispeech_archive(mirror, part, speaker)
    written = prepare("librispeech_100", tmp_path / "data", f"file://{mirror}")
    assert set(written) == {"train", "val", "test"}
    entries = list(read_manifest(written["val"], "k"))
    assert [e.text for e in entries] == ["HELLO WORLD", "IT'S A TEST"]
    assert entries[1].audio == tmp_path / "data/librispeech/LibriSpeech/dev-clean/2/100/2-100-0001.flac"
    assert json.loads(written["test"].read_text().splitlines()[1])["duration"] == 0.562
    assert len(read_audio(entries[0].audio, 16_000)) == 8000
    with pytest.raises(UserError, match="unknown corpus 'nope'"):
        prepare("nope", tmp_path)


def test_the_lm_is_counted_on_the_corpus_text_where_the_corpus_has_one(tmp_path: Path) -> None:
    from lstm_apps.pipeline.train import build_datamodule

    manifest = write_speech(tmp_path / "speech", voices=("m1",))
    data = build_datamodule(compose_config("train", tiny_asr_overrides(manifest), tmp_path / "run"))
    data.setup("fit")
    transcripts = data.unit_sequences("train")
    assert list(data.language_model_sequences()) == [transcripts[i].tolist() for i in range(len(transcripts))]
    data.corpus.language_model_texts = lambda: iter(["one two", "three"])
    units = data.output_units
    assert list(data.language_model_sequences()) == [units.encode("one two", "x"), units.encode("three", "x")]


def test_a_bpe_model_trains_predicts_and_counts_its_lm_on_pieces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_speech(tmp_path / "speech", voices=("m1",))
    overrides = [
        *tiny_asr_overrides(manifest),
        "data.units=bpe",
        "data.vocab_size=300",
        "trainer.max_epochs=1",
    ]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert math.isfinite(metrics["test/wer"])
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert "tokenizer" in state["lstm_apps"]["fitted_state"]
    assert 261 < len(state["lstm_apps"]["handoff"]["units"]) <= 301  # a tiny corpus has few merges
    assert int(state["state_dict"]["transcript_lm.order"]) == 6  # counted on the pieces
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lm.txt").write_text("one two three four\n")
    capsys.readouterr()
    assert run_main(["predict", f"ckpt_path={ckpt}", f"input={manifest}", f"lm={tmp_path / 'lm.txt'}"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == len(SPOKEN)


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("asr")
def test_asr_transcribes_an_upload_and_a_recording_from_the_microphone(tmp_path: Path) -> None:
    ckpt, setup = trained("asr")
    clip = Path(setup.predict[0].split("=", 1)[1])
    with served("asr") as server:
        check_info(server, "asr", ckpt)
        files = {"audio": (clip.name, clip.read_bytes(), "audio/wav")}
        answer = server.post("/predict", files=files, data={"beam_size": "2"}).json()
        assert answer["transcript"] == predictor_of(ckpt, beam_size=2).transcribe([(clip, str(clip))])[0]
        assert answer["seconds"] > 0
        garbage = server.post("/predict", files={"audio": ("a.wav", b"RIFF....nonsense", "audio/wav")})
        assert garbage.status_code == 415 and garbage.json()["detail"].startswith(
            "audio: a.wav: not an audio file"
        )
        still_serves(server, "/predict", files=files)

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait

            open_playground(driver, server, "asr")
            driver.find_element(By.ID, "audio").send_keys(str(clip))
            assert submit_and_wait(driver, "transcript").text == (
                answer_for(server, files).strip() or "(nothing heard)"
            )
            driver.find_element(By.ID, "record").click()  # the fake microphone: a tone
            time.sleep(1.0)
            driver.find_element(By.ID, "record").click()
            WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "status").text == "recorded")
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 30).until(lambda d: "answered" in d.find_element(By.ID, "status").text)
            assert driver.find_element(By.ID, "error").text == ""
        finally:
            driver.quit()


def answer_for(server: Server, files: dict[str, Any]) -> str:
    return str(server.post("/predict", files=files).json()["transcript"])


def test_prepare_offers_librispeech() -> None:
    assert set(datasets("asr")) == {"librispeech_100"}
