"""The text generator: learning, weight tying, stateful BPTT, generation, data module."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest
import requests
import torch
import torch.nn.functional as F

from helpers.running import run_main
from helpers.serving import (
    browser_or_skip,
    check_info,
    open_playground,
    served,
    trained,
)
from lstm_apps.apps.textgen.corpus import PydocCorpus, TextFiles
from lstm_apps.apps.textgen.datamodule import TextStreamDataModule
from lstm_apps.apps.textgen.model import LanguageModel
from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.predictor import read_options
from lstm_apps.text.tokenizer import train_tokenizer

OPTIMIZER = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.01}


def make_model(vocab_size: int, **kwargs) -> LanguageModel:
    settings = {
        "embedding_dim": 24,
        "hidden_size": 48,
        "num_layers": 1,
        "dropout": 0.0,
        "embedding_dropout": 0.0,
        "output_dropout": 0.0,
        "optimizer": OPTIMIZER,
    }
    settings.update(kwargs)
    return LanguageModel(vocab_size, **settings)


def test_lm_overfits_a_tiny_corpus() -> None:
    torch.manual_seed(0)
    text = "hello world, the quick brown fox. " * 8
    tok = train_tokenizer("char", [text])
    ids = torch.tensor(tok.encode(text))[None]
    model = make_model(tok.vocab_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        logits, _ = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, tok.vocab_size), ids[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.15
    model.bind_fitted_state({"tokenizer": tok.to_json()})
    assert model.generate("hello wor", 12, greedy=True)[0] == "ld, the quic"


def test_weight_tying_shares_the_embedding_and_bridges_sizes() -> None:
    same = make_model(30, embedding_dim=32, hidden_size=32)
    assert same.net.decoder.weight is same.net.embedding.weight
    assert isinstance(same.net.bridge, torch.nn.Identity)
    bridged = make_model(30, embedding_dim=16, hidden_size=32)
    assert bridged.net.decoder.weight is bridged.net.embedding.weight
    assert isinstance(bridged.net.bridge, torch.nn.Linear)
    untied = make_model(30, tie_weights=False)
    assert untied.net.decoder.weight is not untied.net.embedding.weight


def test_hidden_state_is_carried_and_detached_between_batches() -> None:
    model = make_model(10).eval()
    rows = torch.randint(0, 10, (2, 9))
    first, second = (rows[:, :4], rows[:, 1:5]), (rows[:, 4:8], rows[:, 5:9])
    model._stream_loss(first, "val")
    carried = model._carried["val"]
    assert carried is not None and not carried[0].requires_grad
    model._stream_loss(second, "val")
    # The carried state equals running both windows as one sequence.
    _, whole = model(rows[:, :8])
    torch.testing.assert_close(model._carried["val"][0], whole[0])


def test_test_blocks_loss_reads_each_window_from_an_empty_state() -> None:
    torch.manual_seed(0)
    model = make_model(10).eval()
    rows = torch.randint(0, 10, (2, 9))
    windows = [(rows[:, :4], rows[:, 1:5]), (rows[:, 4:8], rows[:, 5:9])]
    logged: dict[str, float] = {}
    model.log = lambda name, value, **_: logged.__setitem__(name, float(value))  # type: ignore[method-assign]
    with torch.no_grad():
        model.on_test_epoch_start()
        for index, window in enumerate(windows):
            model.test_step(window, index)
        model.on_test_epoch_end()

        def mean_loss(logits: list[torch.Tensor]) -> float:
            joined = torch.cat(logits, dim=1)
            targets = torch.cat([t for _, t in windows], dim=1)
            return F.cross_entropy(joined.reshape(-1, 10), targets.reshape(-1)).item()

        blocks = [model(inputs)[0] for inputs, _ in windows]
        stream = model(rows[:, :8])[0]
    assert logged["test/loss_blocks"] == pytest.approx(mean_loss(blocks), rel=1e-5)
    assert logged["test/loss"] == pytest.approx(mean_loss([stream]), rel=1e-5)
    assert logged["test/loss"] != pytest.approx(logged["test/loss_blocks"], rel=1e-5)


def test_generation_is_batched_and_seeded() -> None:
    tok = train_tokenizer("char", ["abcdefgh"])
    model = make_model(tok.vocab_size)
    model.bind_fitted_state({"tokenizer": tok.to_json()})
    a = model.generate("ab", 10, temperature=1.0, seed=3, num_samples=4)
    b = model.generate("ab", 10, temperature=1.0, seed=3, num_samples=4)
    assert a == b and len(a) == 4
    assert model.generate("", 5, greedy=True)[0] == model.generate("", 5, greedy=True)[0]


def test_word_tokenizer_reads_words_and_reverse_reads_them_backwards(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("The cat sat. The dog sat!\n" * 6)
    corpus = TextFiles(str(text), str(text), str(text))
    words = TextStreamDataModule(
        corpus,
        tokenizer="word",
        lowercase=True,
        word_split="punctuation",
        batch_size=1,
        bptt=4,
        prepared_dir=str(tmp_path / "store"),
    )
    words.setup("fit")
    tokenizer = words.tokenizer
    assert tokenizer.kind == "word"
    assert tokenizer.decode(words.ids["train"][:7].tolist()) == "the cat sat. the dog sat"
    backwards = TextStreamDataModule(
        corpus,
        tokenizer="word",
        lowercase=True,
        word_split="punctuation",
        reverse=True,
        batch_size=1,
        bptt=4,
        prepared_dir=str(tmp_path / "store"),
    )
    backwards.setup("fit")
    assert backwards.handoff()["reverse"] is True
    assert (backwards.ids["train"] == words.ids["train"][::-1]).all(), "the same store, read backwards"
    first_inputs, first_targets = next(iter(backwards.train_dataloader()))
    assert first_inputs[0, :3].tolist() == words.ids["train"][::-1][:3].tolist()
    assert first_targets[0, 0] == first_inputs[0, 1]


def test_a_model_of_reversed_text_writes_what_comes_before_the_prompt() -> None:
    tok = train_tokenizer("word", ["a b c d"], vocab_size=20)
    model = make_model(tok.vocab_size, reverse=True)
    model.bind_fitted_state({"tokenizer": tok.to_json()})
    fed: list[list[int]] = []

    def network_generate(tokens: torch.Tensor, max_new_tokens: int, **sampling: object) -> torch.Tensor:
        fed.append(tokens[0].tolist())
        return torch.tensor([[tok.token_id("b"), tok.token_id("a")]])

    model.net.generate = network_generate  # type: ignore[method-assign]
    written = model.generate("c d", 2, greedy=True)[0]
    assert fed == [[tok.token_id("d"), tok.token_id("c")]], "the prompt is read backwards"
    assert written == "a b", "what it wrote, in reading order"
    assert model.join("c d", written + " ") == "a b c d"
    assert make_model(tok.vocab_size).join("c d", " x") == "c d x"


def test_pydoc_corpus_is_deterministic_and_split_by_topic() -> None:
    first = PydocCorpus().load()
    second = PydocCorpus().load()
    assert first == second
    total = sum(len(t) for t in first.values())
    assert 0.03 < len(first["val"]) / total < 0.12
    assert 0.03 < len(first["test"]) / total < 0.12
    names = PydocCorpus().topic_splits()
    assert not set(names["train"]) & (set(names["val"]) | set(names["test"]))
    assert not set(names["val"]) & set(names["test"])


def test_datamodule_hands_over_vocab_and_shards_rows(tmp_path: Path, tiny_corpus: dict[str, Path]) -> None:
    corpus = TextFiles(str(tiny_corpus["train"]), str(tiny_corpus["val"]), str(tiny_corpus["test"]))
    store = str(tmp_path / "prepared")
    dm = TextStreamDataModule(
        corpus, tokenizer="char", batch_size=3, eval_batch_size=2, bptt=8, prepared_dir=store
    )
    dm.prepare_data()
    dm.setup("fit")
    assert dm.handoff() == {"vocab_size": dm.tokenizer.vocab_size, "reverse": False}
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (3, 8) and torch.equal(x[:, 1:], y[:, :-1])

    class FakeTrainer:
        def __init__(self, rank: int) -> None:
            self.global_rank, self.world_size = rank, 2

    seen = []
    for rank in (0, 1):
        dm.trainer = FakeTrainer(rank)
        seen.append(torch.cat([xb for xb, _ in dm.train_dataloader()], dim=1))
    assert seen[0].shape == seen[1].shape == (3, seen[0].size(1))
    ids = torch.from_numpy(dm.ids["train"].astype("int64"))
    flat = ids[: 6 * (ids.numel() // 6)].view(6, -1)[:, :-1]
    assert torch.equal(torch.cat(seen), flat), "ranks must read disjoint, contiguous rows"

    again = TextStreamDataModule(corpus, tokenizer="bpe", batch_size=3, bptt=8, prepared_dir=store)
    again.load_fitted_state(dm.fitted_state())
    again.setup("fit")
    assert again.tokenizer.kind == "char" and (again.ids["val"] == dm.ids["val"]).all()


def test_too_small_split_names_the_setting(tmp_path: Path, tiny_corpus: dict[str, Path]) -> None:
    corpus = TextFiles(str(tiny_corpus["train"]), str(tiny_corpus["val"]))
    dm = TextStreamDataModule(corpus, batch_size=4, eval_batch_size=10_000, prepared_dir=str(tmp_path))
    dm.setup("fit")
    with pytest.raises(UserError, match="eval_batch_size"):
        dm.val_dataloader()


@pytest.mark.parametrize("problem", ["missing", "empty", "directory", "binary"])
def test_bad_corpus_files_name_the_key_and_file(
    tmp_path: Path, tiny_corpus: dict[str, Path], problem: str
) -> None:
    bad = tmp_path / "bad.txt"
    if problem == "empty":
        bad.write_text("  \n")
    elif problem == "directory":
        bad.mkdir()
    elif problem == "binary":
        bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UserError) as err:
        TextFiles(str(bad), str(tiny_corpus["val"])).load()
    assert "data.corpus.train" in str(err.value) and "bad.txt" in str(err.value)


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("textgen")
def test_textgen_streams_what_it_generates_and_sigterm_drains_the_request_in_flight(tmp_path: Path) -> None:
    ckpt, _ = trained("textgen")
    request = {"prompt": "the cat", "max_new_tokens": 40, "seed": 7}
    model = model_from_checkpoint(read_checkpoint(ckpt))
    expected = model.generate("the cat", 40, seed=7)[0]
    # The process's shared server: stopped below, it is started again for the next test that asks.
    with served("textgen") as server:
        check_info(server, "textgen", ckpt)
        answer = server.post("/predict", json=request).json()
        assert answer["generated"] == [expected] and answer["samples"] == ["the cat" + expected]
        together = server.post("/predict", json={"prompt": "a", "max_new_tokens": 5, "num_samples": 3}).json()
        assert len(together["generated"]) == 3
        streamed = server.post("/stream", json=request, stream=True)
        pieces = [json.loads(line) for line in streamed.iter_lines() if line]
        assert "".join(p["text"] for p in pieces) == expected and not any(p["before"] for p in pieces)
        assert server.post("/stream", json={**request, "temperature": 0}).status_code == 422
        # The inside view: every cell's value at each character, for the last layer's memory.
        said = 'say "hi" (x)'
        inside = server.post("/inside", json={"text": said}).json()
        assert inside["steps"] == list(said) and inside["state"] == "layer0 c"
        assert len(inside["values"]) == 16 and all(len(row) == len(said) for row in inside["values"])
        assert inside["values"] != server.post("/inside", json={"text": said[::-1]}).json()["values"]
        refused = server.post("/inside", json={"text": said, "layer": 5})
        assert refused.status_code == 422 and "layer" in refused.json()["detail"], refused.text
        assert server.post("/inside", json={"text": " "}).status_code == 422

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait

            open_playground(driver, server, "textgen")
            driver.find_element(By.ID, "prompt").send_keys("the cat")
            driver.find_element(By.ID, "max_new_tokens").clear()
            driver.find_element(By.ID, "max_new_tokens").send_keys("40")
            driver.find_element(By.ID, "seed").send_keys("7")
            driver.find_element(By.ID, "temperature").clear()
            driver.find_element(By.ID, "temperature").send_keys("1")
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#output[data-done]"))
            output = driver.find_element(By.ID, "output")
            assert driver.execute_script("return arguments[0].textContent", output) == "the cat" + expected
            assert int(output.get_attribute("data-pieces")) == len(pieces)

            from selenium.webdriver.common.action_chains import ActionChains

            driver.find_element(By.ID, "inside-text").send_keys(said)
            driver.find_element(By.ID, "inside-submit").click()
            WebDriverWait(driver, 30).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#inside-steps .inside-step")
            )
            hovered = driver.find_elements(By.CSS_SELECTOR, "#inside-steps .inside-step")[4]
            assert hovered.text == '"' and driver.find_element(By.ID, "error").text == ""
            ActionChains(driver).move_to_element(hovered).perform()
            WebDriverWait(driver, 10).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#inside-cells[data-step='4']")
            )
            rows = driver.find_elements(By.CSS_SELECTOR, "#inside-cells .cell-row")
            assert len(rows) == 5 and all(
                len(r.find_elements(By.CSS_SELECTOR, "pre span")) == len(said) for r in rows
            )
            at_four = [abs(inside["values"][int(r.get_attribute("data-cell"))][4]) for r in rows]
            assert (
                at_four == sorted(at_four, reverse=True)
                or max(abs(v) for row in inside["values"] for v in row) > 1
            )
        finally:
            driver.quit()

        # SIGTERM while a long stream is in flight: it is answered to the end, then the server exits.
        long = server.post("/stream", json={"prompt": "the", "max_new_tokens": 2000, "seed": 1}, stream=True)
        lines = long.iter_lines()
        first = next(lines)
        server.process.send_signal(signal.SIGTERM)
        rest = [line for line in lines if line]
        whole = "".join(json.loads(line)["text"] for line in [first, *rest])
        assert whole == model.generate("the", 2000, seed=1)[0]
        assert server.process.wait(60) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/health", timeout=2)


def test_a_negative_temperature_is_refused_against_its_declared_range() -> None:
    with pytest.raises(UserError, match=r"temperature=-1"):
        read_options("textgen", {"temperature": -1.0})


# -------------------------------------------------------------------------------- lstm-apps inspect
def test_inspect_colours_each_character_and_finds_cells_for_the_text_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, _ = trained("textgen")
    text = tmp_path / "input.txt"
    text.write_text('the cat said "hi" (to the dog)\n    and sat [down]\n')
    out = tmp_path / "cells"
    args = ["inspect", f"ckpt_path={ckpt}", f"input=@{text}", f"output_dir={out}", "max_new_tokens=1"]
    assert run_main([*args, "find=true", "top=3"]) == 0
    printed = capsys.readouterr().out
    for feature in ("inside_quotes", "bracket_depth", "position_in_line", "indentation"):
        line = next((row for row in printed.splitlines() if row.startswith(feature)), printed)
        assert line.count(" r=") == 3, line  # the best three cells with their r
    page = (out / "cells.html").read_text()
    assert page.count('<pre class="cell">') == 3 and page.count("<span") == 3 * len(text.read_text())
    assert "Cells that track features of the input" in page and (out / "cells.png").stat().st_size > 5000
    assert run_main([*args, "cells=[0,5]", "state=h", "layer=0"]) == 0
    page = (out / "cells.html").read_text()
    assert "<h3>layer0 h[0]</h3>" in page and "<h3>layer0 h[5]</h3>" in page


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("cells=[999]", r"cells: 999 is not a cell of layer0 c \(it has 16: 0-15\)"),
        ("layer=3", r"layer: net.rnn has no layer 3 \(its layers: 0-0\)"),
        ("direction=backward", r"direction: net.rnn is not bidirectional"),
        (
            "block=net.encoder",
            r"block: the model has no recurrent block 'net.encoder' that ran \(blocks: net.rnn\)",
        ),
        ("input=@/no/such/file.txt", r"input: file not found: /no/such/file.txt"),
        ("top=0", r"top"),
    ],
)
def test_inspect_refuses_what_the_model_or_input_lacks_in_one_line(
    tmp_path: Path, override: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, _ = trained("textgen")
    args = ["inspect", f"ckpt_path={ckpt}", "input=the cat", f"output_dir={tmp_path}", "max_new_tokens=1"]
    capsys.readouterr()
    assert run_main([*args, override]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
