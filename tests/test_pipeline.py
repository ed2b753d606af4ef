"""The training pipeline in-process: run directory, self-contained checkpoints, resume, hparams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf, open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from helpers.config import compose_config
from lstm_apps.apps.textgen.tiny import tiny_textgen_overrides, write_tiny_corpus
from lstm_apps.cli.predict import with_app_options
from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.checkpoint_io import AtomicCheckpointIO
from lstm_apps.pipeline.evaluate import evaluate
from lstm_apps.pipeline.predict import predict
from lstm_apps.pipeline.train import train

FEW_BATCHES = ["trainer.limit_train_batches=4", "trainer.limit_val_batches=2"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny two-epoch run shared by the tests that only read what it wrote."""
    root = tmp_path_factory.mktemp("trained")
    corpus = write_tiny_corpus(root)
    cfg = compose_config("train", tiny_textgen_overrides(corpus) + ["trainer.max_epochs=2"], root / "run")
    metrics = train(cfg)
    assert {"val/loss", "val/ppl", "test/loss", "test/ppl", "test/loss_blocks"} <= set(metrics)
    summary = json.loads((root / "run" / "metrics.json").read_text())
    assert summary["app"] == "textgen" and summary["metrics"] == pytest.approx(metrics)
    assert Path(summary["best_checkpoint"]).is_file()
    return root / "run"


def test_one_run_directory_holds_config_checkpoints_and_tensorboard(trained_run: Path) -> None:
    assert (trained_run / "config.yaml").exists()
    saved = OmegaConf.load(trained_run / "config.yaml")
    assert saved.app_name == "textgen" and "${" not in OmegaConf.to_yaml(saved)
    checkpoints = sorted(p.name for p in (trained_run / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and any(n.startswith("epoch001") for n in checkpoints)
    assert not [n for n in checkpoints if n.endswith(".partial")]
    events = EventAccumulator(str(trained_run / "tensorboard"))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "val/loss", "val/ppl", "test/ppl"} <= scalars
    assert "samples/generated/text_summary" in events.Tags()["tensors"], "generated text each epoch"
    hparams = events.PluginTagToContent("hparams")
    assert "_hparams_/session_end_info" in hparams
    experiment = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/experiment"]).experiment
    assert {"val/ppl", "test/ppl"} <= {m.name.tag for m in experiment.metric_infos}
    assert "model.hidden_size" in {h.name for h in experiment.hparam_infos}


def test_checkpoint_is_self_contained(trained_run: Path, tmp_path: Path) -> None:
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    info = read_checkpoint(ckpt)
    assert info.app == "textgen"
    assert info.config.model.hidden_size == 16
    assert info.fitted_state["tokenizer"].startswith("{")  # JSON, not a pickle
    model = model_from_checkpoint(info)
    assert model.tokenizer is not None and model.vocab_size == info.handoff["vocab_size"]

    eval_cfg = compose_config(
        "eval", [f"ckpt_path={ckpt}", "trainer.enable_progress_bar=false"], tmp_path / "ev"
    )
    metrics = evaluate(eval_cfg)
    assert metrics["test/ppl"] == pytest.approx(
        torch.exp(torch.tensor(metrics["test/loss"])).item(), rel=1e-4
    )
    assert (tmp_path / "ev" / "metrics.json").exists()

    predict_cfg = compose_config(
        "predict", with_app_options([f"ckpt_path={ckpt}", "prompt=the cat", "max_new_tokens=5", "seed=1"])
    )
    text = predict(predict_cfg)
    assert text.startswith("the cat") and len(text) >= len("the cat")


@pytest.mark.parametrize(
    "override,message",
    [
        ("+model.sample_tokens=3", None),
        ("+model.hiden_size=32", "model.hiden_size: not a setting of this checkpoint's model (it has: "),
        ("+model.hidden_size=32", "model.hidden_size: the checkpoint's weights do not fit"),
        ("+model.vocab_size=3", "model.vocab_size: not a setting"),  # the data's, in the checkpoint
    ],
)
def test_eval_overrides_only_the_model_settings_the_weights_allow(
    trained_run: Path, tmp_path: Path, override: str, message: str | None
) -> None:
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    cfg = compose_config(
        "eval", [f"ckpt_path={ckpt}", "trainer.enable_progress_bar=false", override], tmp_path
    )
    if message is None:
        assert "test/loss" in evaluate(cfg)
        return
    with pytest.raises(UserError) as err:
        evaluate(cfg)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_resume_continues_global_step_and_optimizer(trained_run: Path, tmp_path: Path, tiny_corpus) -> None:
    last = trained_run / "checkpoints" / "last.ckpt"
    before = torch.load(last, weights_only=True)
    steps_per_epoch = before["global_step"] // 2
    cfg = compose_config(
        "train",
        tiny_textgen_overrides(tiny_corpus) + ["trainer.max_epochs=3", f"ckpt_path={last}"],
        tmp_path / "resumed",
    )
    train(cfg)
    after = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert after["global_step"] == before["global_step"] + steps_per_epoch
    assert after["epoch"] == 2
    step_state = after["optimizer_states"][0]["state"][0]["step"]
    assert int(step_state) == after["global_step"], "Adam's step count continued, not restarted"
    assert after["lr_schedulers"], "scheduler state is saved"


def test_resume_from_another_app_checkpoint_is_refused(
    trained_run: Path, tmp_path: Path, tiny_corpus
) -> None:
    last = trained_run / "checkpoints" / "last.ckpt"
    cfg = compose_config("train", tiny_textgen_overrides(tiny_corpus) + [f"ckpt_path={last}"], tmp_path / "x")
    with open_dict(cfg):
        cfg.app_name = "seq2seq"
    with pytest.raises(UserError, match="trained by app 'textgen', not 'seq2seq'"):
        train(cfg)


@pytest.mark.parametrize("optimizer,scheduler", [("sgd", "cosine"), ("adam", "onecycle"), ("adamw", "none")])
def test_optimizers_and_schedulers_from_config(
    tmp_path: Path, tiny_corpus, optimizer: str, scheduler: str
) -> None:
    overrides = (
        tiny_textgen_overrides(tiny_corpus)
        + [
            f"optimizer={optimizer}",
            f"scheduler={scheduler}",
            "optimizer.lr=0.01",
            "test_after_fit=false",
        ]
        + FEW_BATCHES
    )
    cfg = compose_config("train", overrides, tmp_path / scheduler)
    train(cfg)
    ckpt = torch.load(tmp_path / scheduler / "checkpoints" / "last.ckpt", weights_only=True)
    assert len(ckpt["lr_schedulers"]) == (0 if scheduler == "none" else 1)


def test_bf16_mixed_precision_trains_on_cpu(tmp_path: Path, tiny_corpus) -> None:
    overrides = (
        tiny_textgen_overrides(tiny_corpus)
        + ["trainer.precision=bf16-mixed", "test_after_fit=false"]
        + FEW_BATCHES
    )
    metrics = train(compose_config("train", overrides, tmp_path / "bf16"))
    assert torch.isfinite(torch.tensor(metrics["val/loss"]))


def test_csv_logger_is_selectable(tmp_path: Path, tiny_corpus) -> None:
    overrides = tiny_textgen_overrides(tiny_corpus) + ["logger=csv", "test_after_fit=false"] + FEW_BATCHES
    train(compose_config("train", overrides, tmp_path / "csv"))
    metrics_file = tmp_path / "csv" / "csv" / "metrics.csv"
    assert "val/ppl" in metrics_file.read_text().splitlines()[0]


def test_atomic_checkpoint_write_never_leaves_a_torn_file(tmp_path: Path, monkeypatch) -> None:
    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"step": 1}, target)

    def explode(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(torch, "save", explode)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_predict_reads_the_checkpoint_file_once(
    trained_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command looks at the checkpoint before Hydra runs (which app's options) and then loads
    the model from it: one read of the file."""
    from helpers.running import run_main
    from lstm_apps.pipeline import checkpoint

    ckpt = trained_run / "checkpoints" / "last.ckpt"
    checkpoint._last_read.clear()
    loads: list[str] = []
    real_load = torch.load
    monkeypatch.setattr(
        torch, "load", lambda file, *a, **k: loads.append(str(file)) or real_load(file, *a, **k)
    )
    assert run_main(["predict", f"ckpt_path={ckpt}", "prompt=the", "max_new_tokens=3", "device=cpu"]) == 0
    assert capsys.readouterr().out.startswith("the") and loads == [str(ckpt)]
