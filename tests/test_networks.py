"""Every app's network is a plain ``nn.Module``: it builds, runs and traces in a process that
never imports Lightning, and the app's LightningModule holds it as ``self.net``."""

from __future__ import annotations

import subprocess
import sys

import lightning as L
import pytest
from hydra.utils import get_class
from torch import nn

from helpers.config import compose_config
from lstm_apps.paths import available_apps

APPS = available_apps()

# Every app's network module is imported; the networks below are also built and run.
WITHOUT_LIGHTNING = """
import importlib
import sys
import torch
for app in sys.argv[1:]:
    importlib.import_module(f"lstm_apps.apps.{app}.network")
from lstm_apps.apps.captioner.network import CaptionNetwork
from lstm_apps.apps.classifier.network import ClassifierNetwork
from lstm_apps.apps.forecaster.network import ForecastNetwork
from lstm_apps.apps.seq2seq.network import Seq2SeqNetwork
from lstm_apps.apps.tagger.network import TaggerNetwork
from lstm_apps.apps.textgen.network import LanguageNetwork
from lstm_apps.apps.asr.network import SpeechNetwork
from lstm_apps.apps.music.network import PianoRollNetwork

torch.manual_seed(0)
lm = LanguageNetwork(11, embedding_dim=8, hidden_size=8, num_layers=1).eval()
logits, _ = lm(torch.randint(0, 11, (2, 5)))
assert logits.shape == (2, 5, 11)
assert lm.generate(torch.randint(0, 11, (2, 3)), 4, greedy=True).shape == (2, 4)
torch.jit.trace(lm, (torch.randint(0, 11, (2, 5)),))

s2s = Seq2SeqNetwork(9, 10, 0, embedding_dim=8, hidden_size=8).eval()
src, lengths = torch.randint(1, 9, (3, 6)), torch.tensor([6, 4, 2])
logits, attention = s2s(src, lengths, torch.randint(1, 10, (3, 4)))
assert logits.shape == (3, 4, 10) and attention.shape == (3, 4, 6)
found = s2s.search(src, lengths, 1, 2, max_len=5, beam_size=3, n_best=2)
assert len(found) == 3 and all(len(h) == 2 for h in found)

cap = CaptionNetwork(12, 0, encoder={"backbone": "small", "channels": 8, "grid_size": 2}, hidden_size=8).eval()
logits, attention = cap(torch.randn(2, 3, 32, 32), torch.randint(1, 12, (2, 3)))
assert logits.shape == (2, 3, 12) and attention.shape == (2, 3, 4)
assert len(cap.search(torch.randn(2, 3, 32, 32), 1, 2, max_len=4, beam_size=2)) == 2

tags = ["O", "B-PER", "I-PER"]
tagger = TaggerNetwork(20, 15, tags, "iob2", 0, 1, word_dim=8, char_dim=4, char_size=6, hidden_size=8).eval()
batch = {
    "words": torch.randint(2, 20, (2, 4)),
    "word_chars": torch.randint(1, 15, (8, 3)),
    "word_char_lengths": torch.full((8,), 3),
    "char_slots": torch.arange(8).view(2, 4),
    "lengths": torch.tensor([4, 3]),
}
emissions = tagger(batch)
mask = torch.arange(4)[None] < batch["lengths"][:, None]
assert emissions.shape == (2, 4, 3) and tagger.decode(emissions, mask).shape == (2, 4)
assert torch.isfinite(tagger.loss(emissions, torch.zeros(2, 4, dtype=torch.long), mask))

clf = ClassifierNetwork(30, 3, 0, embedding_dim=8, hidden_size=8, attention_size=4).eval()
logits, weights = clf(torch.randint(1, 30, (2, 7)), torch.tensor([7, 5]))
assert logits.shape == (2, 3) and weights.shape == (2, 7)

for head in ("direct", "seq2seq"):
    fc = ForecastNetwork(2, 3, 4, outputs=3, head=head, hidden_size=8).eval()
    assert fc(torch.randn(5, 10, 5), torch.randn(5, 4, 3)).shape == (5, 4, 2, 3)

speech = SpeechNetwork(["", "a", " "], 16000, 20, 25.0, 10.0, [0.0] * 20, [1.0] * 20, conv_channels=8, hidden_size=8).eval()
log_probs, steps = speech((torch.randn(2, 4000) * 1000).to(torch.int16), torch.tensor([4000, 3000]))
assert log_probs.shape == (2, int(steps[0]), 3) and steps.tolist() == [6, 4]
from lstm_apps.core.export_graph import GraphOf
torch.jit.trace(GraphOf(speech, lambda f: (speech.recognise(f),)), (torch.randn(2, 24, 20),))

for output in ("independent", "joint"):
    music = PianoRollNetwork(hidden_size=8, num_layers=1, input_size=8, output=output, joint_units=8).eval()
    rolls = (torch.rand(2, 5, 88) < 0.05).float()
    assert music(rolls, rolls, torch.tensor([5, 3])).shape == (2, 5, 88)
    context = music.context(rolls, torch.tensor([5, 3]))[0]
    assert music.sample_frame(context[:, -1]).shape == (2, 88)

loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("lightning", "pytorch_lightning"))
assert not loaded, loaded
print("ok")
"""


def test_networks_build_run_and_trace_without_lightning() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_LIGHTNING, *APPS], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


@pytest.mark.parametrize("app", APPS)
def test_every_app_model_holds_its_plain_network_as_net(app: str) -> None:
    model = get_class(compose_config("train", [f"app={app}"]).model._target_)
    network = model.network
    assert network is not None and issubclass(network, nn.Module), app
    assert not issubclass(network, L.LightningModule), app
    assert network.__module__ == f"lstm_apps.apps.{app}.network", app
