"""The music app: piano rolls from the benchmark's pitch lists and from scores, the joint frame
output's autoregressive masks and key-by-key decisions, the JSB measures, the sources and their
splits, sampling, MIDI out, the synthesiser and the predictor."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.serving import (
    browser_or_skip,
    check_info,
    open_playground,
    openapi_fields,
    predictor_of,
    served,
    still_serves,
    submit_and_wait,
    trained,
)
from lstm_apps.apps.music.measures import frame_accuracy, frame_counts, nll_sum
from lstm_apps.apps.music.network import PianoRollNetwork
from lstm_apps.apps.music.piano_roll import KEYS, frames, pitches, read_jsb_json
from lstm_apps.apps.preparation import datasets
from lstm_apps.errors import UserError


def test_frames_and_pitches_are_inverse_and_bad_pieces_name_where() -> None:
    piece = [[60, 64, 67], [], [21, 108]]
    roll = frames(piece, "x.json: train piece 0")
    assert roll.shape == (3, KEYS) and roll.sum() == 5
    assert pitches(roll) == piece
    with pytest.raises(
        UserError, match=r"^x.json: train piece 3, step 1: pitch 109 is off the piano keyboard"
    ):
        frames([[60], [109]], "x.json: train piece 3")
    with pytest.raises(UserError, match=r"^x.json: test piece 0: an empty piece"):
        frames([], "x.json: test piece 0")


def test_reads_the_benchmark_json_per_split(tmp_path: Path) -> None:
    path = tmp_path / "jsb.json"
    path.write_text(json.dumps({"train": [[[60], [62, 65]]], "valid": [[[60]]], "test": [[[72, 76]]]}))
    rolls = read_jsb_json(path)
    assert [len(rolls[s]) for s in ("train", "valid", "test")] == [1, 1, 1]
    assert rolls["train"][0].shape == (2, KEYS)
    path.write_text(json.dumps({"train": [], "test": []}))
    with pytest.raises(UserError, match="expected the splits train, valid, test"):
        read_jsb_json(path)


def test_the_joint_output_reads_only_the_keys_below_each_key() -> None:
    torch.manual_seed(0)
    net = PianoRollNetwork(
        hidden_size=16, num_layers=1, input_size=8, dropout=0.0, output="joint", joint_units=40
    )
    inputs = torch.rand(1, 1, KEYS).round()
    targets = torch.rand(1, 1, KEYS).round().requires_grad_(True)
    logits = net(inputs, targets)[0, 0]
    for key in (0, 1, 40, 87):
        (grad,) = torch.autograd.grad(logits[key], targets, retain_graph=True)
        seen = grad[0, 0].nonzero().flatten().tolist()
        assert all(j < key for j in seen), (key, seen)
    (grad,) = torch.autograd.grad(logits[87], targets)
    assert grad[0, 0, :87].abs().sum() > 0  # the top key does read the keys below it


@pytest.mark.parametrize("output", ["independent", "joint"])
def test_learns_a_repeating_progression_and_samples_frames(output: str) -> None:
    torch.manual_seed(0)
    chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71], [65, 69, 72]]
    roll = torch.from_numpy(frames(chords * 6, "progression").astype(np.float32))[None]
    net = PianoRollNetwork(
        hidden_size=32, num_layers=1, input_size=16, dropout=0.0, output=output, joint_units=64
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=0.02)
    mask = torch.ones(1, roll.size(1) - 1)
    for _ in range(400):
        loss = nll_sum(net(roll[:, :-1], roll[:, 1:]), roll[:, 1:], mask) / mask.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5  # nats per step, summed over 88 keys: near certainty
    net.eval()
    logits, _ = net.context(roll[:, :4])
    frame = net.sample_frame(logits[:, -1], generator=torch.Generator().manual_seed(0))
    assert pitches(frame.numpy().astype(bool)) == [chords[0]]  # after the fourth chord, the first


def test_nll_and_frame_accuracy_follow_the_protocol() -> None:
    targets = torch.zeros(1, 2, KEYS)
    targets[0, 0, 10] = 1
    logits = torch.full((1, 2, KEYS), -1e4)
    mask = torch.tensor([[1.0, 0.0]])  # the second step is padding
    assert nll_sum(logits, targets, mask).item() == pytest.approx(1e4)  # one certain miss
    assert nll_sum(torch.zeros(1, 2, KEYS), targets, mask).item() == pytest.approx(KEYS * math.log(2))
    predicted = torch.zeros(1, 2, KEYS)
    predicted[0, 0, 10] = predicted[0, 0, 11] = predicted[0, 1, 5] = 1
    counts = frame_counts(predicted, targets, mask)
    assert counts.tolist() == [1.0, 1.0, 0.0] and frame_accuracy(counts) == 0.5


def test_prepare_fetches_both_grids_from_a_folder_and_checks_them(tmp_path: Path) -> None:
    from lstm_apps.apps.music.prepare import FILES, prepare

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    good = {"train": [[[60, 64]]], "valid": [[[62]]], "test": [[[67, 71]]]}
    for filename in FILES.values():
        (mirror / filename).write_text(json.dumps(good))
    written = prepare("jsb_chorales", tmp_path / "data", f"file://{mirror}")
    assert set(written) == {"quarter", "16th"} and read_jsb_json(written["quarter"])["test"][0].sum() == 2
    (mirror / FILES["16th"]).write_text(json.dumps({**good, "test": [[[120]]]}))
    with pytest.raises(UserError, match=r"test piece 0, step 0: pitch 120 is off the piano keyboard"):
        prepare("jsb_chorales", tmp_path / "other", f"file://{mirror}")
    with pytest.raises(UserError, match="unknown data set 'bach'"):
        prepare("bach", tmp_path, None)


def _score(notes: list[tuple[list[str], float]]):  # type: ignore[no-untyped-def]
    from music21 import chord, stream

    part = stream.Stream()
    for names, length in notes:
        part.append(chord.Chord(names, quarterLength=length))
    return part


def test_a_score_becomes_a_roll_sampled_on_the_grid() -> None:
    from lstm_apps.apps.music.score_files import score_roll

    score = _score([(["C4", "E4", "G4"], 2.0), (["D4"], 1.0), (["B3", "D4"], 0.5)])
    assert pitches(score_roll(score, 1, "s")) == [[60, 64, 67], [60, 64, 67], [62], [59, 62]]
    assert pitches(score_roll(score, 2, "s"))[4:] == [[62], [62], [59, 62]]
    with pytest.raises(UserError, match=r"^s: pitch C9 \(MIDI 120\) at quarter 0 is off the piano keyboard"):
        score_roll(_score([(["C9"], 1.0)]), 1, "s")


def test_midi_files_read_back_in_c_and_a_bad_file_is_one_line(tmp_path: Path) -> None:
    from lstm_apps.apps.music.score_files import read_score

    midi = tmp_path / "d_major.mid"
    _score(
        [
            (["D4", "F#4", "A4"], 1.0),
            (["G4", "B4", "D5"], 1.0),
            (["A4", "C#5", "E5"], 1.0),
            (["D4", "F#4", "A4"], 1.0),
        ]
    ).write("midi", fp=str(midi))
    assert pitches(read_score(midi, normalise=False))[0] == [62, 66, 69]
    assert pitches(read_score(midi))[0] == [60, 64, 67]  # D major -> C major
    bad = tmp_path / "notes.mid"
    bad.write_bytes(b"not a midi file")
    with pytest.raises(UserError, match=r"notes.mid: music21 cannot read it"):
        read_score(bad)
    text = tmp_path / "notes.txt"
    text.write_text("C D E")
    with pytest.raises(UserError, match=r"notes.txt: not a MIDI or MusicXML file"):
        read_score(text)


def test_the_bach_chorales_ship_with_music21_and_read_as_rolls() -> None:
    from music21 import corpus

    from lstm_apps.apps.music.score_files import bach_chorales, score_roll

    chorales = list(bach_chorales())
    assert len(chorales) >= 400 and chorales[0][0].startswith("bwv")
    roll = score_roll(corpus.parse(str(chorales[0][1])), 1, chorales[0][0])
    assert roll.shape[0] >= 16 and 3 <= roll.sum(axis=1).max() <= 6  # four voices, a few doubled or held


def test_batches_predict_every_frame_from_a_silent_start() -> None:
    from lstm_apps.apps.music.batching import roll_batch

    short, long = frames([[60], [62]], "a"), frames([[64], [65], [67]], "b")
    batch = roll_batch([short, long])
    assert batch["lengths"].tolist() == [2, 3] and batch["mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert batch["inputs"][:, 0].sum() == 0  # the first frame is predicted from silence
    assert pitches(batch["inputs"][1].numpy().astype(bool)) == [[], [64], [65]]
    assert pitches(batch["targets"][0].numpy().astype(bool)) == [[60], [62], []]
    net = PianoRollNetwork(hidden_size=8, num_layers=1, input_size=8, dropout=0.0)
    logits = net(batch["inputs"], batch["targets"], batch["lengths"])
    per_step = nll_sum(logits, batch["targets"], batch["mask"]) / batch["mask"].sum()
    assert per_step.item() == pytest.approx(KEYS * math.log(2), rel=0.1)  # untrained: about a coin per key


def test_events_store_a_roll_compactly_and_decode_to_it() -> None:
    from lstm_apps.apps.music.piano_roll import STEP_END, events, roll_of_events

    roll = frames([[60, 64], [], [21, 108], [67]], "a")
    encoded = events(roll)
    assert encoded.tolist() == [39, 43, STEP_END, STEP_END, 0, 87, STEP_END, 46, STEP_END]
    assert (roll_of_events(encoded) == roll).all()


def test_joint_decisions_key_by_key_match_the_full_pass() -> None:
    torch.manual_seed(0)
    net = PianoRollNetwork(
        hidden_size=16, num_layers=1, input_size=8, dropout=0.0, output="joint", joint_units=64
    )
    assert net.joint is not None
    state_logits = torch.randn(3, 5, KEYS) * 2
    frame = net.most_likely_frames(state_logits)
    # Each decided key is what the full masked pass says given the keys decided below it.
    assert torch.equal(frame, (net.frame_logits(state_logits, frame) > 0).float())
    independent = PianoRollNetwork(hidden_size=16, num_layers=1, input_size=8, dropout=0.0)
    assert torch.equal(independent.most_likely_frames(state_logits), (state_logits > 0).float())


def test_sources_split_by_piece_and_augment_only_training_pieces(tmp_path: Path) -> None:
    from lstm_apps.apps.music.sources import AUGMENT_SEMITONES, ScoreFolder, split_of, transposed

    parts = split_of([f"p{i}" for i in range(20)], 0.1, 0.2, seed=3)
    assert sorted(parts["train"] + parts["val"] + parts["test"]) == list(range(20))
    assert (len(parts["val"]), len(parts["test"])) == (2, 4)
    roll = frames([[60, 64], [62]], "a")
    assert pitches(transposed(roll, 2)) == [[62, 66], [64]]
    assert transposed(frames([[108]], "b"), 1) is None  # would leave the keyboard

    class Pieces(ScoreFolder):
        def files(self) -> list[tuple[str, Path]]:
            return [(f"p{i}", tmp_path / f"p{i}.mid") for i in range(10)]

    read: list[str] = []
    import lstm_apps.apps.music.sources as sources

    def fake_read(path: Path, steps: int, normalise: bool) -> np.ndarray:
        read.append(Path(path).stem)
        return frames([[60 + int(Path(path).stem[1:])]], str(path))

    original = sources.read_score
    sources.read_score = fake_read  # type: ignore[assignment]
    try:
        source = Pieces(str(tmp_path), transposition="augment", val_fraction=0.2, test_fraction=0.2)
        train, test = list(source.records("train")), list(source.records("test"))
    finally:
        sources.read_score = original  # type: ignore[assignment]
    assert len(train) == 6 * len(AUGMENT_SEMITONES) and len(test) == 2
    keys = len(AUGMENT_SEMITONES)
    as_written = [pitches(train[i * keys + list(AUGMENT_SEMITONES).index(0)])[0][0] for i in range(6)]
    assert as_written == [60 + int(name[1:]) for name in read[:6]]  # each piece, then its 11 other keys
    assert [pitches(r)[0][0] for r in train[:keys]] == [as_written[0] + t for t in AUGMENT_SEMITONES]
    assert set(read[:6]).isdisjoint(read[6:])  # a test piece is never read for training


def test_a_folder_without_scores_and_a_missing_benchmark_file_are_one_line(tmp_path: Path) -> None:
    from lstm_apps.apps.music.sources import JsbChorales, ScoreFolder

    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserError, match=r"^data.scores.folder: .* holds no MIDI or MusicXML files"):
        list(ScoreFolder(str(tmp_path)).records("train"))
    with pytest.raises(UserError, match=r"^data.scores.folder: .*jsb-chorales-quarter.json is missing; run"):
        list(JsbChorales(str(tmp_path)).records("train"))


def test_samples_continue_the_primer_and_a_seed_repeats_them() -> None:
    from lstm_apps.apps.music.model import MusicModel

    torch.manual_seed(0)
    model = MusicModel(
        1, 8, hidden_size=16, num_layers=1, input_size=8, dropout=0.0, output="joint", joint_units=16
    )
    primer = torch.from_numpy(frames([[60, 64, 67], [62]], "p"))
    first = model.sample(3, 5, 1.0, primer, torch.Generator().manual_seed(7))
    again = model.sample(3, 5, 1.0, primer, torch.Generator().manual_seed(7))
    assert first.shape == (3, 7, KEYS) and torch.equal(first, again)
    assert torch.equal(first[:, :2], primer.float().expand(3, -1, -1))
    assert set(first.unique().tolist()) <= {0.0, 1.0}


def test_notes_synthesise_and_draw(tmp_path: Path) -> None:
    from lstm_apps.apps.music.rendering import SAMPLE_RATE, note_runs, roll_image, synthesise

    roll = frames([[60, 64], [60], [], [67]], "a")
    assert sorted(note_runs(roll)) == [(39, 0, 2), (43, 0, 1), (46, 3, 1)]
    audio = synthesise(roll, 1)
    assert audio.shape == (4 * SAMPLE_RATE * 60 // 100,) and 0.5 < audio.abs().max() <= 0.8
    step = audio.numel() // 4
    assert audio[2 * step : 3 * step].abs().max() == 0  # the silent step is silent
    image = roll_image(roll, cell=2)
    assert image.shape[0] == 3 and image.shape[2] == 4 * 2 and 0 <= image.min() and image.max() <= 1


def test_midi_written_reads_back_and_a_primer_longer_than_the_context_is_one_line(tmp_path: Path) -> None:
    from lstm_apps.apps.music.model import MusicModel
    from lstm_apps.apps.music.predictor import MusicOptions, MusicPredictor
    from lstm_apps.apps.music.score_files import midi_bytes, read_score

    roll = frames([[60, 64], [60, 64], [], [67]], "a")
    path = tmp_path / "a.mid"
    path.write_bytes(midi_bytes(roll, 1, 100))
    assert (read_score(path, 1, normalise=False) == roll).all()

    model = MusicModel(1, 3, hidden_size=8, num_layers=1, input_size=8, dropout=0.0)
    out = tmp_path / "out"
    options = MusicOptions(num_samples=2, length=3, primer=str(path), output_dir=str(out), seed=1)
    with pytest.raises(
        UserError, match=r"^primer: .*a.mid is 4 steps on the model's grid, longer than the model's context"
    ):
        MusicPredictor(model, options).predict()
    model.longest_piece = 10
    printed = MusicPredictor(model, options).predict().text.splitlines()
    assert [line.split("\t")[0] for line in printed] == [
        str(out / "sample_000.mid"),
        str(out / "sample_001.mid"),
    ]
    again = MusicPredictor(model, options).predict().text.splitlines()
    assert again[0].startswith(str(out / "sample_002.mid"))  # earlier samples are kept
    sampled = read_score(out / "sample_000.mid", 1, normalise=False)
    assert (sampled[:4] == roll).all()  # the primer comes first
    (tmp_path / "bad.mid").write_text("not midi")
    with pytest.raises(UserError, match=r"bad.mid: music21 cannot read it"):
        MusicPredictor(model, MusicOptions(primer=str(tmp_path / "bad.mid"), output_dir=str(out))).predict()


def test_tensorboard_gets_a_piano_roll_and_a_sound_of_each_drawn_sample() -> None:
    from lstm_apps.apps.music.model import MusicModel
    from lstm_apps.apps.music.rendering import SAMPLE_RATE

    torch.manual_seed(0)
    model = MusicModel(
        1, 8, log_samples=2, sample_steps=6, hidden_size=8, num_layers=1, input_size=8, dropout=0.0
    )
    images, sounds = model.validation_images(), model.validation_audio()
    assert sorted(images) == ["samples/piano_roll_0", "samples/piano_roll_1"]
    assert all(image.shape[0] == 3 and image.shape[2] == 6 * 4 for image in images.values())
    assert sorted(sounds) == ["samples/audio_0", "samples/audio_1"]
    assert all(rate == SAMPLE_RATE and samples.dim() == 1 for samples, rate in sounds.values())
    drawn = [roll.copy() for roll in model.validation_samples_drawn()]
    model._samples = None  # the next validation draws again, seeded by the epoch: the same pieces
    assert all((a == b).all() for a, b in zip(drawn, model.validation_samples_drawn(), strict=True))
    assert (
        MusicModel(1, 8, log_samples=0, hidden_size=8, num_layers=1, input_size=8).validation_images() == {}
    )


def test_the_chorales_and_a_folder_of_midi_files_give_pieces_per_split(tmp_path: Path) -> None:
    from lstm_apps.apps.music.score_files import midi_bytes
    from lstm_apps.apps.music.sources import BachChorales, ScoreFolder

    chorales = BachChorales(pieces=5, val_fraction=0.2, test_fraction=0.2)
    parts = {split: list(chorales.records(split)) for split in ("train", "val", "test")}
    assert [len(parts[s]) for s in ("train", "val", "test")] == [3, 1, 1]
    assert all(roll.shape[1] == KEYS and roll.any(axis=1).mean() > 0.8 for p in parts.values() for roll in p)
    assert len(chorales.identity()["files"]) == 5

    (tmp_path / "set" / "inner").mkdir(parents=True)
    for i in range(4):
        roll = frames([[60 + i, 64 + i], [62 + i]] * (i + 2), f"piece {i}")
        (tmp_path / "set" / ("inner" if i % 2 else "") / f"p{i}.mid").write_bytes(midi_bytes(roll, 1, 100))
    folder = ScoreFolder(str(tmp_path / "set"), transposition="none", val_fraction=0.25, test_fraction=0.25)
    lengths = sorted(len(r) for s in ("train", "val", "test") for r in folder.records(s))
    assert lengths == [4, 6, 8, 10]  # every file once, in whichever split, as written


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("music")
def test_music_samples_pieces_continues_primers_and_refuses_bad_ones(tmp_path: Path) -> None:
    import base64

    from lstm_apps.apps.music.piano_roll import frames
    from lstm_apps.apps.music.score_files import midi_bytes

    ckpt, _ = trained("music")
    primer = [[60, 64, 67], [60, 64, 67], [62, 65, 69]]
    with served("music") as server:
        check_info(server, "music", ckpt)
        assert openapi_fields(server) == {
            "num_samples",
            "length",
            "temperature",
            "seed",
            "primer",
            "primer_midi",
        }
        request = {"num_samples": 2, "length": 5, "seed": 4, "primer": primer}
        answer = server.post("/predict", json=request).json()
        assert answer["primer_steps"] == 3 and answer["steps_per_quarter"] == 1
        expected = predictor_of(ckpt).sample(2, 5, 1.0, frames(primer, "p"), 4)
        assert [s["steps"] for s in answer["samples"]] == [
            [[int(k) + 21 for k in np.flatnonzero(f)] for f in roll] for roll in expected
        ]
        assert all(s["steps"][:3] == primer for s in answer["samples"])
        assert base64.b64decode(answer["samples"][0]["midi"]).startswith(b"MThd")
        as_file = base64.b64encode(midi_bytes(frames(primer, "p"), 1, 100)).decode()
        from_file = server.post("/predict", json={"length": 2, "seed": 4, "primer_midi": as_file}).json()
        assert from_file["primer_steps"] == 3 and from_file["samples"][0]["steps"][:3] == primer
        bad = [
            ({"primer": [[60], [200]]}, 422, "primer, step 1: pitch 200 is off the piano keyboard"),
            (
                {"primer": [[60]] * 500},
                422,
                "primer: the primer is 500 steps on the model's grid, longer than",
            ),
            (
                {"primer_midi": base64.b64encode(b"not midi").decode()},
                422,
                "primer_midi: not a MIDI or MusicXML",
            ),
            ({"primer_midi": "%%%"}, 422, "primer_midi: not base64"),
            ({"length": 0}, 422, "length: Input should be greater than or equal to 1"),
            ({"num_samples": 2, "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ]
        for body, status, message in bad:
            refused = server.post("/predict", json=body)
            assert refused.status_code == status and refused.json()["detail"].startswith(message), (
                body,
                refused.text,
            )
        still_serves(server, "/predict", json={"length": 3})

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "music")
            driver.find_element(By.ID, "length").clear()
            driver.find_element(By.ID, "length").send_keys("12")
            submit_and_wait(driver, "pieces")
            rolls = driver.find_elements(By.CSS_SELECTOR, "#pieces canvas.roll")
            assert len(rolls) == 2 and all(r.get_attribute("data-steps") == "12" for r in rolls)
            link = driver.find_element(By.ID, "midi_0").get_attribute("href")
            assert link.startswith("data:audio/midi;base64,TVRoZ")  # "MThd"
            primer_file = tmp_path / "primer.mid"
            primer_file.write_bytes(midi_bytes(frames(primer, "p"), 1, 100))
            driver.find_element(By.ID, "primer").send_keys(str(primer_file))
            submit_and_wait(driver, "pieces")
            assert driver.find_element(By.ID, "roll_0").get_attribute("data-steps") == "15"
        finally:
            driver.quit()


def test_prepare_offers_the_jsb_chorales() -> None:
    assert set(datasets("music")) == {"jsb_chorales"}


def test_inspect_correlates_cells_with_onsets_and_the_beat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers.running import run_main
    from lstm_apps.apps.music.score_files import midi_bytes

    ckpt, _ = trained("music")
    primer = tmp_path / "primer.mid"
    chords = [[60, 64, 67], [], [62], [62], [65, 69], [], [67], []] * 3
    primer.write_bytes(midi_bytes(frames(chords, "p"), 4, 100))
    out = tmp_path / "cells"
    args = ["inspect", f"ckpt_path={ckpt}", f"input={primer}", "length=2", f"output_dir={out}"]
    assert run_main([*args, "find=true"]) == 0  # the sampled MIDI goes to output_dir too
    printed = capsys.readouterr().out
    for feature in ("onsets", "notes", "bar_position"):  # (a grid of one step per quarter: no beat)
        assert any(row.startswith(feature) and " r=" in row for row in printed.splitlines()), printed
    assert 'src="cells.png"' in (out / "cells.html").read_text() and (out / "cells.png").stat().st_size > 1000
    (tmp_path / "bad.mid").write_text("not midi")
    capsys.readouterr()
    assert (
        run_main(["inspect", f"ckpt_path={ckpt}", f"input={tmp_path / 'bad.mid'}", f"output_dir={out}"]) == 2
    )
    refused = capsys.readouterr().err.strip()
    assert len(refused.splitlines()) == 1 and "bad.mid: music21 cannot read it" in refused, refused

    from lstm_apps.apps.music.model import MusicModel
    from lstm_apps.apps.music.predictor import MusicOptions, MusicPredictor
    from lstm_apps.pipeline.predictor import Prediction

    predictor = MusicPredictor(MusicModel(4, 3, hidden_size=8, num_layers=1, input_size=8), MusicOptions())
    predictor._first_roll = frames([[60], [60], [], [64, 67], [64]], "p")
    features = predictor.inspection_features(Prediction(""))  # steps read: a silent frame, then the roll
    assert all(np.isnan(values[0]) for values in features.values())  # the silent frame
    assert features["onsets"][1:].tolist() == [1, 0, 0, 2, 0]
    assert features["notes"][1:].tolist() == [1, 1, 0, 2, 1]
    assert features["beat_position"][1:].tolist() == [0, 1, 2, 3, 0]
    assert features["on_the_beat"][1:].tolist() == [1, 0, 0, 0, 1]
    assert features["bar_position"][1:].tolist() == [0, 1, 2, 3, 4]
    assert features["on_the_downbeat"][1:].tolist() == [1, 0, 0, 0, 0]
