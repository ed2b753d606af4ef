"""Checkpoints written by an earlier release still load and predict exactly as they did.

``tests/fixtures/checkpoints/`` holds one tiny checkpoint per app, trained by the code of the
release before the networks became plain modules and the apps' code moved into their packages,
with the inputs its predict options read and what ``lstm-apps predict`` printed then.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra.utils import get_object

from helpers.running import run_in_process
from lstm_apps.config_ranges.schema import target_nodes
from lstm_apps.paths import available_apps
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint

FIXTURES = Path(__file__).parent / "fixtures" / "checkpoints"
EXPECTED = json.loads((FIXTURES / "predictions.json").read_text())


def test_every_app_of_that_release_has_an_old_checkpoint() -> None:
    released = sorted(path.stem for path in FIXTURES.glob("*.ckpt"))
    assert len(released) >= 6 and sorted(EXPECTED) == released and set(released) <= set(available_apps())


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_an_old_checkpoint_loads_and_predicts_as_it_did(app: str, tmp_path: Path) -> None:
    ckpt = tmp_path / f"{app}.ckpt"
    ckpt.write_bytes((FIXTURES / f"{app}.ckpt").read_bytes())
    info = read_checkpoint(str(ckpt))
    assert info.app == app
    targets = [str(node._target_) for _, node in target_nodes(info.config.data, "data")]
    assert targets and all(get_object(target) for target in targets), targets  # moved modules found
    model = model_from_checkpoint(info)
    assert sum(p.numel() for p in model.parameters()) > 0
    options = [option.replace("{fixtures}", str(FIXTURES)) for option in EXPECTED[app]["predict"]]
    result = run_in_process(["predict", f"ckpt_path={ckpt}", "device=cpu", *options], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == EXPECTED[app]["output"]
