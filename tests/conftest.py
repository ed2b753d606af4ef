"""Shared fixtures: tiny corpora, tiny configs, and a runner for the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from lstm_apps.paths import config_dir

REPO = Path(__file__).resolve().parents[1]

TINY_TEXT = (
    "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat.\n\n"
    "def add(a, b):\n    return a + b\n\n"
)


def write_tiny_corpus(root: Path) -> dict[str, Path]:
    """Train/val/test text files small enough to train on in seconds."""
    files = {}
    for split, repeat in (("train", 12), ("val", 4), ("test", 4)):
        path = root / "corpus" / f"{split}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TINY_TEXT * repeat)
        files[split] = path
    return files


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> dict[str, Path]:
    return write_tiny_corpus(tmp_path)


def tiny_textgen_overrides(corpus: dict[str, Path]) -> list[str]:
    return [
        "app=textgen",
        "data/corpus=text_files",
        f"data.corpus.train={corpus['train']}",
        f"data.corpus.val={corpus['val']}",
        f"data.corpus.test={corpus['test']}",
        "data.batch_size=4",
        "data.eval_batch_size=2",
        "data.bptt=16",
        "model.embedding_dim=16",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.sample_tokens=8",
        "callbacks=minimal",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "trainer.num_sanity_val_steps=0",
        "trainer.log_every_n_steps=1",
    ]


def compose_config(config_name: str, overrides: list[str], output_dir: Path | None = None) -> DictConfig:
    """Compose a config as the CLI would, with the run directory pinned to ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose(config_name, overrides=overrides)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
            cfg.paths.root_dir = str(output_dir)
    return cfg


def run_cli(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run ``lstm-apps`` for real, in a child process, offline."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lstm_apps.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
