"""Fine-tuning controls: layer groups, frozen weights, gradual unfreezing, discriminative learning
rates as optimiser groups, and a resumed fine-tuning run that ends where an uninterrupted one does."""

from __future__ import annotations

import signal
from pathlib import Path

import lightning as L
import pytest
import torch

from helpers.config import compose_config
from helpers.running import SignalAt
from lstm_apps.apps.classifier.network import ClassifierNetwork
from lstm_apps.apps.classifier.tiny import tiny_classifier_overrides, write_labelled
from lstm_apps.apps.tagger.network import TaggerNetwork
from lstm_apps.apps.tagger.tiny import tiny_tagger_overrides, write_conll
from lstm_apps.apps.textgen.network import LanguageNetwork
from lstm_apps.apps.textgen.tiny import tiny_textgen_overrides, write_tiny_corpus
from lstm_apps.errors import UserError
from lstm_apps.pipeline.finetuning import FineTuning, layer_groups
from lstm_apps.pipeline.train import train


class Holder(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net


def _groups(net: torch.nn.Module) -> list[tuple[str, list[str]]]:
    return [(group.name, group.parameters) for group in layer_groups(Holder(net))]


def test_layer_groups_run_from_the_input_through_each_recurrent_layer_to_the_head() -> None:
    lm = _groups(LanguageNetwork(50, embedding_dim=8, hidden_size=12, num_layers=2))
    assert [name for name, _ in lm] == ["input", "rnn.l0", "rnn.l1", "head"]
    assert lm[0][1] == ["net.embedding.weight"]
    assert set(lm[2][1]) == {f"net.rnn.rnn.{k}_l1" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    assert lm[3][1] == ["net.bridge.weight", "net.bridge.bias", "net.decoder.bias"], (
        "the tied weight is the embedding"
    )

    tagger = dict(
        _groups(
            TaggerNetwork(
                30, 20, ["O", "B-X", "I-X"], "iob2", 0, 1, word_dim=8, char_dim=4, char_size=6, hidden_size=8
            )
        )
    )
    assert list(tagger) == ["input", "encoder.l0", "head"]
    assert "net.char_features.embedding.weight" in tagger["input"], "character features sit below the encoder"
    assert "net.encoder.rnn.weight_hh_l0_reverse" in tagger["encoder.l0"], "both directions of a layer"
    assert "net.crf.transitions" in tagger["head"] and "net.emission.weight" in tagger["head"]


def test_gradual_unfreezing_trains_the_head_first_then_one_group_more_per_step() -> None:
    model = Holder(ClassifierNetwork(40, 2, 0, embedding_dim=8, hidden_size=8, num_layers=2))
    callback = FineTuning(unfreeze_every=2)
    names = [set(group.parameters) for group in layer_groups(model)]  # input, l0, l1, head
    assert callback.trainable(model, 0) == names[3]
    assert callback.trainable(model, 1) == names[3]
    assert callback.trainable(model, 2) == names[3] | names[2]
    assert callback.trainable(model, 6) == set().union(*names)
    frozen = FineTuning(freeze=["net.encoder.*"], unfreeze=["net.encoder.rnn.bias_*"])
    trainable = frozen.trainable(model, 0)
    assert "net.encoder.rnn.weight_ih_l0" not in trainable and "net.encoder.rnn.bias_ih_l0" in trainable
    assert "net.embedding.weight" in trainable


class Seen(L.Callback):
    """Weights at the start, trainable names and optimiser groups at each epoch start."""

    def __init__(self) -> None:
        self.start: dict[str, torch.Tensor] = {}
        self.trainable: list[set[str]] = []
        self.groups: list[tuple[str, float, float]] = []

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.trainable.append({n for n, p in pl_module.named_parameters() if p.requires_grad})
        self.groups = [
            (group.get("name", ""), group["lr"], group.get("max_lr", 0.0))
            for group in trainer.optimizers[0].param_groups
        ]


def _final(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]


@pytest.mark.slow
def test_frozen_weights_do_not_change_while_the_rest_trains(tmp_path: Path) -> None:
    labelled = write_labelled(tmp_path / "data", fmt="tsv")
    seen = Seen()
    overrides = [
        *tiny_classifier_overrides(labelled),
        "trainer.max_epochs=2",
        "finetune.freeze=[net.embedding,net.encoder]",
    ]
    train(compose_config("train", overrides, tmp_path / "run"), [seen])
    final = _final(tmp_path / "run")
    for name in (
        "net.embedding.weight",
        "net.encoder.rnn.weight_ih_l0",
        "net.encoder.rnn.bias_hh_l0_reverse",
    ):
        assert torch.equal(final[name], seen.start[name]), name
    assert not torch.equal(final["net.output.weight"], seen.start["net.output.weight"])

    with pytest.raises(
        UserError, match=r"^finetune\.freeze: 'net\.encodr' names no weight \(modules: .*net\.encoder"
    ):
        train(compose_config("train", [*overrides[:-1], "finetune.freeze=[net.encodr]"], tmp_path / "typo"))


@pytest.mark.slow
def test_each_layer_group_reaches_the_optimizer_and_scheduler_with_its_rate(tmp_path: Path) -> None:
    corpus = write_tiny_corpus(tmp_path / "corpus")
    seen = Seen()
    overrides = [
        *tiny_textgen_overrides(corpus),
        "model.num_layers=2",
        "optimizer.lr=0.02",
        "scheduler=onecycle",
        "finetune.lr_decay=2",
        "finetune.unfreeze_every=1",
        "trainer.max_epochs=3",
        "test_after_fit=false",
    ]
    train(compose_config("train", overrides, tmp_path / "run"), [seen])
    names = ["input", "rnn.l0", "rnn.l1", "head"]
    assert [name for name, _, _ in seen.groups] == names
    assert [max_lr for _, _, max_lr in seen.groups] == pytest.approx([0.0025, 0.005, 0.01, 0.02])
    counts = [len(trainable) for trainable in seen.trainable]
    assert counts[0] < counts[1] < counts[2], "one layer group more each epoch"
    assert all(name.startswith(("net.bridge", "net.decoder")) for name in seen.trainable[0])
    final = _final(tmp_path / "run")
    assert torch.equal(final["net.embedding.weight"], seen.start["net.embedding.weight"]), (
        "the input group was still frozen in the last epoch"
    )


@pytest.mark.slow
def test_a_resumed_fine_tuning_run_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "data", repeat=8)  # 40 sentences, batch 5: 8 batches per epoch
    base = [*tiny_tagger_overrides(data), "trainer.max_epochs=1", "test_after_fit=false"]
    train(compose_config("train", base, tmp_path / "source"))
    overrides = [
        *tiny_tagger_overrides(data),
        f"init_from={tmp_path / 'source' / 'checkpoints' / 'last.ckpt'}",
        "finetune.unfreeze_every=1",
        "finetune.lr_decay=2",
        "scheduler=onecycle",
        "resume=auto",
        "trainer.max_epochs=3",
        "callbacks.early_stopping=null",
        "test_after_fit=false",
    ]
    train(compose_config("train", overrides, tmp_path / "reference"))
    with pytest.raises(SystemExit):
        train(
            compose_config("train", overrides, tmp_path / "run"),
            [SignalAt(epoch=1, batch=2, signum=signal.SIGTERM)],
        )
    train(compose_config("train", overrides, tmp_path / "run"))
    final, reference = _final(tmp_path / "run"), _final(tmp_path / "reference")
    assert final.keys() == reference.keys()
    for name in reference:
        torch.testing.assert_close(final[name], reference[name], rtol=0, atol=1e-6, msg=name)
