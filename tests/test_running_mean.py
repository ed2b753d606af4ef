"""``running_mean()``: the loss means every app logs are weighted (by tokens, frames, sentences),
on one process and summed over several."""

from __future__ import annotations

import math
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lstm_apps.pipeline.running_mean import running_mean


def test_each_value_counts_by_its_weight() -> None:
    mean = running_mean()
    mean.update(torch.tensor(1.0), torch.tensor(1))  # a batch of 1 token with mean loss 1
    mean.update(torch.tensor(3.0), 3)  # a batch of 3 tokens with mean loss 3
    assert mean.compute().item() == 2.5  # per token; a mean of batch means would say 2.0
    mean.reset()
    mean.update(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 3.0]))
    mean.update(2.0)
    assert mean.compute().item() == pytest.approx(2.4)


def test_a_nan_shows_in_the_mean_instead_of_being_checked_on_the_host() -> None:
    mean = running_mean()
    mean.update(torch.tensor(float("nan")), 2)
    mean.update(torch.tensor(1.0), 2)
    assert math.isnan(mean.compute().item())


def _two_ranks(rank: int, port: int, results: dict) -> None:
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        mean = running_mean()
        mean.update(torch.tensor(1.0 if rank == 0 else 3.0), 1 if rank == 0 else 3)
        results[rank] = mean.compute().item()
    finally:
        dist.destroy_process_group()


def test_processes_sum_values_and_weights_before_dividing() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_two_ranks, args=(port, results), nprocs=2)
        assert dict(results) == {0: 2.5, 1: 2.5}
