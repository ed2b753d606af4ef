"""launcher=slurm: the sbatch script it would submit (generated offline, never submitted), and the
same submission path run here through submitit's local executor."""

from __future__ import annotations

from pathlib import Path

import pytest
import submitit
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from omegaconf import OmegaConf

from helpers.running import run_cli
from lstm_apps.apps.tagger.tiny import tiny_tagger_overrides, write_conll
from lstm_apps.paths import config_dir
from lstm_apps.pipeline.run_name import register


def test_slurm_launcher_writes_the_expected_sbatch_script(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    register()
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            [
                "app=seq2seq",
                "launcher=slurm",
                "resources=2x4gpu",
                "cluster.partition=gpu",
                "cluster.account=proj42",
                "hydra.launcher.setup=[module load cuda]",
            ],
            return_hydra_config=True,
        )
    assert (cfg.trainer.devices, cfg.trainer.num_nodes) == (4, 2)
    assert (
        cfg.trainer.strategy._target_.endswith("DDPStrategy") and cfg.trainer.strategy.timeout.seconds == 300
    )
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    # The mapping hydra-submitit-launcher applies before submitting (no srun here: pretend it exists):
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", staticmethod(lambda: 1))
    executor = submitit.AutoExecutor(
        cluster="slurm", folder=tmp_path / "submitit", slurm_max_num_timeout=launcher.pop("max_num_timeout")
    )
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    launcher = {k: v for k, v in launcher.items() if k not in ("_target_", "submitit_folder")}
    executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in launcher.items()})
    script = executor._executor._make_submission_file_text("python -m lstm_apps.cli.train", "uid")
    for line in (
        "#SBATCH --nodes=2",
        "#SBATCH --gpus-per-node=4",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=proj42",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=256GB",
        "#SBATCH --time=720",
        "#SBATCH --signal=USR2@120",
        "module load cuda",
    ):
        assert line in script, line


@pytest.mark.slow
def test_submission_path_runs_a_sweep_through_submitits_local_executor(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "data", repeat=2)
    result = run_cli(
        [
            "train",
            "-m",
            "launcher=slurm_local",
            *tiny_tagger_overrides(data),
            "trainer.max_epochs=1",
            "model.hidden_size=16,32",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = list((tmp_path / "runs" / "tagger" / "multirun").iterdir())
    for job in ("0", "1"):
        assert (sweep / job / "checkpoints" / "last.ckpt").is_file()
    assert len(list((sweep / ".submitit").glob("*/*_result.pkl"))) == 2, "each job ran as a submitit job"
