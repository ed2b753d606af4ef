"""The recurrent cells side by side: training throughput (forward + backward, tokens/s) and the
memory kept for the backward pass, of each ``model.cell`` at equal parameter count, batch fixed,
for sequence lengths 64 to 4096.

    python bench/cells.py [--cells lstm gru mingru minlstm] [--lengths 64 256 1024 4096]
                          [--batch 16] [--width 256] [--layers 2] [--device cpu]

Each cell is the project's ``RecurrentBlock`` (``--layers`` stacked), its width chosen so that its
parameters match the LSTM's at ``--width`` (minGRU's and minLSTM's gates read the input only, so
their widths are larger). A case is timed over a window of at least ``--seconds`` after a warm-up
step; the cells' windows taken in turn, ``--repeats`` rounds, the best of each kept. Memory: on a GPU the peak allocated; on a CPU the
bytes of the tensors autograd keeps for the backward pass (what grows with the sequence). Writes
the table into ``bench/results.md`` (section "cells: training throughput") and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

from lstm_apps.core.recurrent import RecurrentBlock

HERE = Path(__file__).resolve().parent


def block_of(cell: str, width: int, layers: int) -> RecurrentBlock:
    return RecurrentBlock(width, width, num_layers=layers, cell=cell)  # type: ignore[arg-type]


def equal_width(cell: str, lstm_width: int, layers: int) -> int:
    """The width at which ``cell``'s block has about the LSTM's parameters (inputs as wide as the
    state, as in a stack): a binary search, as the count grows with the width."""
    target = block_of("lstm", lstm_width, layers).num_parameters()
    low, high = 1, 4 * lstm_width  # the widest cell here, minGRU, needs about twice the LSTM's
    while low < high:
        middle = (low + high) // 2
        if block_of(cell, middle, layers).num_parameters() < target:
            low = middle + 1
        else:
            high = middle
    return min((low - 1, low), key=lambda w: abs(block_of(cell, max(w, 1), layers).num_parameters() - target))


def saved_bytes(block: RecurrentBlock, x: torch.Tensor) -> int:
    """Bytes of the tensors autograd keeps from the forward pass for the backward one."""
    kept = [0]

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        kept[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out, _ = block(x)
    out.sum().backward()
    return kept[0]


class Case:
    """One cell at one length: its block, input and best throughput so far."""

    def __init__(self, cell: str, width: int, length: int, args: argparse.Namespace) -> None:
        self.device = torch.device(args.device)
        torch.manual_seed(0)
        self.block = block_of(cell, width, args.layers).to(self.device)
        self.x = torch.randn(args.batch, length, width, device=self.device)
        self.tokens = args.batch * length
        self.best = 0.0
        self.step()  # warm-up

    def step(self) -> None:
        out, _ = self.block(self.x)
        out.float().pow(2).mean().backward()
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def window(self, seconds: float) -> None:
        """Steps for at least ``seconds``; keeps the best tokens/s."""
        steps, began = 0, time.perf_counter()
        while True:
            self.step()
            steps += 1
            if time.perf_counter() - began >= seconds:
                break
        self.best = max(self.best, steps * self.tokens / (time.perf_counter() - began))

    def memory_mb(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            self.step()
            return torch.cuda.max_memory_allocated() / 2**20
        return saved_bytes(self.block, self.x) / 2**20


def measure_length(
    widths: dict[str, int], length: int, args: argparse.Namespace
) -> dict[tuple[str, int], dict[str, float]]:
    """Every cell at ``length``, their windows in turn (``--repeats`` rounds), so that the
    machine's noise hits them alike; the best window of each is kept."""
    cases = {cell: Case(cell, width, length, args) for cell, width in widths.items()}
    for _ in range(args.repeats):
        for case in cases.values():
            case.window(args.seconds)
    return {
        (cell, length): {
            "tokens_per_s": case.best,
            "memory_mb": case.memory_mb(),
            "parameters": case.block.num_parameters(),
        }
        for cell, case in cases.items()
    }


def table(
    results: dict[tuple[str, int], dict[str, float]], widths: dict[str, int], args: argparse.Namespace
) -> str:
    if args.device.startswith("cuda"):
        where = f"one {torch.cuda.get_device_name()} GPU (CUDA {torch.version.cuda}); memory: peak allocated"
    else:
        where = (
            f"this machine's CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{torch.get_num_threads()} torch threads); memory: what autograd keeps for the backward pass"
        )
    cells = list(dict.fromkeys(cell for cell, _ in results))
    lines = [
        "## cells: training throughput",
        "",
        f"`python bench/cells.py --device {args.device}` — `RecurrentBlock` of {args.layers} layers, batch "
        f"{args.batch}, forward + backward, on {where}; torch {torch.__version__}. Widths at equal parameters: "
        + ", ".join(
            f"{cell} {widths[cell]} ({int(results[(cell, args.lengths[0])]['parameters']):,})"
            for cell in cells
        )
        + f". Best of {args.repeats} windows of {args.seconds:g} s per cell, the cells' windows in turn. Ratio: "
        "tokens/s against lstm's at that length.",
        "",
        "| cell | " + " | ".join(f"T={length}: tokens/s (x lstm), MB" for length in args.lengths) + " |",
        "| --- |" + " ---: |" * len(args.lengths),
    ]
    for cell in cells:
        row = []
        for length in args.lengths:
            found = results[(cell, length)]
            ratio = found["tokens_per_s"] / results[("lstm", length)]["tokens_per_s"]
            row.append(f"{found['tokens_per_s']:,.0f} ({ratio:.2f}x), {found['memory_mb']:,.0f}")
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "mingru", "minlstm"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[64, 256, 1024, 4096])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--width", type=int, default=256, help="the LSTM's; the others' match its parameters")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of windows, the cells in turn")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    args = parser.parse_args()
    if "lstm" not in args.cells:
        args.cells.insert(0, "lstm")  # the ratios' reference
    widths = {cell: equal_width(cell, args.width, args.layers) for cell in args.cells}
    results: dict[tuple[str, int], dict[str, float]] = {}
    for length in args.lengths:
        results.update(measure_length(widths, length, args))
        for cell in args.cells:
            found = results[(cell, length)]
            print(
                f"{cell} T={length}: {found['tokens_per_s']:,.0f} tokens/s, {found['memory_mb']:,.0f} MB",
                flush=True,
            )
    text = table(results, widths, args)
    print(text)
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from run import merge_results

        path = HERE / "results.md"
        path.write_text(merge_results(path, [text]))


if __name__ == "__main__":
    main()
