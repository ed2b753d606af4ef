"""Jobs across machines, started the ways clusters start them, all on this machine over gloo:
``srun`` tasks (each composes its own config) and two torchrun "nodes" meeting at a c10d
rendezvous. Each must train one run: one directory, disjoint data per rank, files from rank 0,
a checkpoint that ``predict`` loads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers.running import run_cli
from lstm_apps.apps.tagger.tiny import SENTENCES, tiny_tagger_overrides, write_conll

PROBE = (
    "import os, lightning as L\n"
    "class Probe(L.Callback):\n"
    "    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):\n"
    "        with open(f'{os.environ[\"PROBE_DIR\"]}/rank{trainer.global_rank}.txt', 'a') as out:\n"
    "            out.write(' '.join(map(str, batch['index'].tolist())) + '\\n')\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _overrides(tmp_path: Path, nodes: int, per_node: int) -> list[str]:
    return [
        *tiny_tagger_overrides(write_conll(tmp_path / "conll", repeat=4)),
        "trainer=ddp_cpu",
        f"trainer.devices={per_node}",
        f"trainer.num_nodes={nodes}",
        "trainer.max_epochs=1",
        "test_after_fit=false",
        "+callbacks.probe._target_=probe.Probe",
    ]


def _start_all(commands: list[list[str]], envs: list[dict[str, str]], cwd: Path, stagger: float) -> list[str]:
    """Start each command with its environment, ``stagger`` seconds apart (as clocks and
    schedulers differ); wait for all; return their outputs, failing on a non-zero exit."""
    (cwd / "probe.py").write_text(PROBE)
    base = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(cwd), "PROBE_DIR": str(cwd)}
    processes = []
    for command, env in zip(commands, envs, strict=True):
        processes.append(
            subprocess.Popen(
                command,
                cwd=cwd,
                env={**base, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        time.sleep(stagger)
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    return outputs


def _one_run(tmp_path: Path, name: str, ranks: int) -> Path:
    runs = list((tmp_path / "runs" / "tagger").iterdir())
    assert [r.name for r in runs] == [name], "every process wrote into one run directory"
    run = runs[0]
    assert (run / ".hydra" / "config.yaml").is_file() and (run / "train.log").is_file()
    assert sorted(p.name for p in run.glob("train*.log")) == sorted(
        ["train.log", *(f"train.rank{r}.log" for r in range(1, ranks))]
    ), "rank 0 writes train.log, every other rank its own file beside it"
    seen = [{int(i) for i in (tmp_path / f"rank{r}.txt").read_text().split()} for r in range(ranks)]
    assert all(seen) and not set.intersection(*seen), "each rank trains on its own sentences"
    checkpoint = run / "checkpoints" / "last.ckpt"
    last = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert last["global_step"] == len(SENTENCES) * 4 // 5 // ranks, "sentences / batch 5, shared by the ranks"
    predicted = run_cli(["predict", f"ckpt_path={checkpoint}", "text=John"], cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    return run


def slurm_task_env(rank: int, nodes: int, per_node: int, port: int, job: str = "4243") -> dict[str, str]:
    """What ``srun`` gives task ``rank`` of a ``nodes`` x ``per_node`` step of job ``job``."""
    return {
        "SLURM_JOB_ID": job,
        "SLURM_STEP_ID": "0",
        "SLURM_JOB_NAME": "lstm",
        "SLURM_NTASKS": str(nodes * per_node),
        "SLURM_NTASKS_PER_NODE": str(per_node),
        "SLURM_NNODES": str(nodes),
        "SLURM_PROCID": str(rank),
        "SLURM_LOCALID": str(rank % per_node),
        "SLURM_NODEID": str(rank // per_node),
        "SLURM_NODELIST": "localhost",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }


@pytest.mark.slow
@pytest.mark.parametrize(("nodes", "per_node"), [(1, 2), (2, 1)], ids=["1node-2tasks", "2nodes-1task"])
def test_srun_tasks_started_apart_train_one_run(tmp_path: Path, nodes: int, per_node: int) -> None:
    port = free_port()
    command = [sys.executable, "-m", "lstm_apps.cli.main", "train", *_overrides(tmp_path, nodes, per_node)]
    envs = [slurm_task_env(rank, nodes, per_node, port) for rank in range(2)]
    _start_all([command, command], envs, tmp_path, stagger=2.0)
    _one_run(tmp_path, "slurm-4243-0", ranks=2)


@pytest.mark.slow
def test_two_torchrun_nodes_at_one_rendezvous_train_one_run(tmp_path: Path) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    commands = [
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nnodes=2",
            f"--node_rank={node}",
            "--nproc_per_node=1",
            "--rdzv-backend=c10d",
            f"--rdzv-endpoint={endpoint}",
            "--rdzv-id=job7",
            "-m",
            "lstm_apps.cli.train",
            *_overrides(tmp_path, nodes=2, per_node=1),
        ]
        for node in range(2)
    ]
    _start_all(commands, [{}, {}], tmp_path, stagger=1.0)
    _one_run(tmp_path, "torchrun-job7", ranks=2)


def _scontrol_stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``scontrol`` on PATH that records its arguments instead of talking to SLURM."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "scontrol.calls"
    bin_dir.mkdir()
    stub = bin_dir / "scontrol"
    stub.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


@pytest.mark.slow
def test_slurm_requeue_signal_checkpoints_requeues_and_the_requeued_job_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.config import compose_config
    from helpers.running import SignalAt
    from lstm_apps.pipeline.train import train

    calls = _scontrol_stub(tmp_path, monkeypatch)
    for key, value in slurm_task_env(0, nodes=1, per_node=1, port=free_port()).items():
        monkeypatch.setenv(key, value)
    data = write_conll(tmp_path / "data", repeat=8)  # 40 sentences, batch 5: 8 batches per epoch
    overrides = [
        *tiny_tagger_overrides(data),  # callbacks=minimal: checkpoints and the preemption callback
        "resume=auto",
        "trainer.max_epochs=3",
        "callbacks.early_stopping=null",
        "test_after_fit=false",
    ]
    train(compose_config("train", overrides, tmp_path / "reference"))
    assert not calls.exists(), "no signal, no requeue"

    with pytest.raises(SystemExit):
        train(compose_config("train", overrides, tmp_path / "run"), [SignalAt(1, 2, signal.SIGUSR1)])
    assert calls.read_text() == "requeue 4243\n", "rank 0 requeued its own job, once"
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["global_step"] == 8 + 3, "the checkpoint was written at the signal, mid-epoch"

    train(compose_config("train", overrides, tmp_path / "run"))  # the requeued job: same command, same id
    final, reference = (
        torch.load(tmp_path / name / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
        for name in ("run", "reference")
    )
    assert (final["global_step"], final["epoch"]) == (reference["global_step"], reference["epoch"]) == (24, 2)
    assert calls.read_text() == "requeue 4243\n"


def test_requeue_signal_names_are_checked(tmp_path: Path) -> None:
    from lstm_apps.errors import UserError
    from lstm_apps.pipeline.preemption import PreemptionSignals, signal_number

    assert signal_number("USR2") == signal_number("SIGUSR2") == signal.SIGUSR2
    assert PreemptionSignals(requeue_signal="none").requeue_signal is None
    with pytest.raises(UserError, match=r"callbacks\.preemption\.requeue_signal: 'USR9' is not a signal"):
        PreemptionSignals(requeue_signal="USR9")


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.slow
def test_a_killed_rank_ends_the_job_and_resume_finishes_like_an_uninterrupted_run(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "data", repeat=24)  # 120 sentences, batch 5, 2 ranks: 12 steps an epoch
    command = [
        sys.executable,
        "-m",
        "lstm_apps.cli.main",
        "train",
        *tiny_tagger_overrides(data),
        "trainer=ddp_cpu",
        "trainer.max_epochs=4",
        "callbacks.early_stopping=null",
        "test_after_fit=false",
        "resume=auto",
    ]
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir(), killed.mkdir()
    assert run_cli(command[3:], cwd=reference).returncode == 0

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    main = subprocess.Popen(
        command, cwd=killed, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 240
    while time.time() < deadline and main.poll() is None:
        log = next(killed.glob("runs/tagger/*/train.log"), None)
        if log is not None and "epoch 1 (" in log.read_text() and _children(main.pid):
            break
        time.sleep(0.05)
    assert main.poll() is None, "the job must still be training when a rank dies"
    (rank1,) = _children(main.pid)  # Lightning's launcher started rank 1 as a child of rank 0
    os.kill(rank1, signal.SIGKILL)
    killed_at = time.time()
    output = main.communicate(timeout=120)[0]
    assert main.returncode != 0, output[-2000:]
    assert time.time() - killed_at < 60, "the surviving rank exits instead of waiting for the dead one"

    again = run_cli(command[3:], cwd=killed)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "[lstm-apps] resuming from" in again.stdout
    final, expected = (
        torch.load(
            next(root.glob("runs/tagger/*/checkpoints/last.ckpt")), map_location="cpu", weights_only=True
        )
        for root in (killed, reference)
    )
    assert (final["global_step"], final["epoch"]) == (expected["global_step"], expected["epoch"]) == (48, 3)
