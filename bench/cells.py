"""The recurrent cells side by side: training throughput (forward + backward, tokens/s) and the
memory kept for the backward pass, of each ``model.cell`` at equal parameter count, batch fixed,
for sequence lengths 64 to 4096.

    python bench/cells.py [--cells lstm gru mingru minlstm slstm mlstm] [--lengths 64 256 1024 4096]
                          [--batch 16] [--width 256] [--layers 2] [--device cpu] [--no-package]

Each cell is the project's ``RecurrentBlock`` (``--layers`` stacked), its width chosen so that its
parameters match the LSTM's at ``--width`` (the cells whose gates read the input only have no
recurrent matrix, so their widths are larger). A case is timed over a window of at least
``--seconds`` after a warm-up step; the cells' windows taken in turn, ``--repeats`` rounds, the best
of each kept. Memory: on a GPU the peak allocated; on a CPU the bytes of the tensors autograd keeps
for the backward pass (what grows with the sequence). "Of peak": the matrix-product FLOPs a token
costs (forward + backward) times tokens/s, against this device's own float32 matrix-product rate
measured in the same run.

A second table sets our sLSTM and mLSTM beside the NX-AI ``xlstm`` package's blocks (its CPU
backends) at the package's sizes, when the package is installed (``pip install -e '.[xlstm]'``).
Writes both into ``bench/results.md`` (sections "cells: training throughput" and "cells: against
the xlstm package") and prints them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lstm_apps.core.recurrent import RecurrentBlock

HERE = Path(__file__).resolve().parent
HEADED = ("slstm", "mlstm")  # widths a multiple of 4: four heads, as the xLSTM paper's


def block_of(cell: str, width: int, layers: int) -> RecurrentBlock:
    return RecurrentBlock(width, width, num_layers=layers, cell=cell)  # type: ignore[arg-type]


def flops_per_token(block: nn.Module, width: int) -> float:
    """Matrix-product FLOPs of one token, forward + backward (the input needs no gradient).
    Counted by torch's FLOP counter; its fused LSTM/GRU/RNN kernels it cannot see into, so those
    are counted from their weights: 2 per weight forward, 2 for its gradient, 2 for the input's
    gradient but the first layer's input part."""
    x = torch.randn(2, 8, width)
    with FlopCounterMode(display=False) as counter:
        out = block(x)
        out = out[0] if isinstance(out, tuple) else out
        out.float().pow(2).mean().backward()
    block.zero_grad(set_to_none=True)
    counted = counter.get_total_flops() / x[..., 0].numel()
    if counted:
        return counted
    weights = [p for name, p in block.named_parameters() if "weight" in name]
    first_input = sum(p.numel() for name, p in block.named_parameters() if name.endswith("weight_ih_l0"))
    return 6.0 * sum(p.numel() for p in weights) - 2.0 * first_input


def matmul_peak(device: torch.device, seconds: float = 1.0) -> float:
    """This device's float32 matrix-product rate (FLOP/s), the best of square products of 1024."""
    a, b = torch.randn(1024, 1024, device=device), torch.randn(1024, 1024, device=device)
    best = 0.0
    for _ in range(3):
        steps, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds / 3:
            a @ b
            steps += 1
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, steps * 2 * 1024**3 / (time.perf_counter() - began))
    return best


def equal_width(cell: str, lstm_width: int, layers: int) -> int:
    """The width at which ``cell``'s block has about the LSTM's parameters (inputs as wide as the
    state, as in a stack): a binary search, as the count grows with the width."""
    target = block_of("lstm", lstm_width, layers).num_parameters()
    step = 4 if cell in HEADED else 1
    low, high = 1, 4 * lstm_width // step  # in units of step; the widest here, minGRU, needs about 2x
    while low < high:
        middle = (low + high) // 2
        if block_of(cell, middle * step, layers).num_parameters() < target:
            low = middle + 1
        else:
            high = middle
    return step * min(
        (max(low - 1, 1), low), key=lambda w: abs(block_of(cell, w * step, layers).num_parameters() - target)
    )


def saved_bytes(block: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the tensors autograd keeps from the forward pass for the backward one."""
    kept = [0]

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        kept[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = block(x)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    return kept[0]


class Case:
    """One module at one length: its input and best throughput so far."""

    def __init__(self, block: nn.Module, width: int, length: int, args: argparse.Namespace) -> None:
        self.device = torch.device(args.device)
        self.block = block.to(self.device)
        self.x = torch.randn(args.batch, length, width, device=self.device)
        self.tokens = args.batch * length
        self.flops = flops_per_token(self.block, width)
        self.best = 0.0
        self.step()  # warm-up

    def step(self) -> None:
        out = self.block(self.x)
        out = out[0] if isinstance(out, tuple) else out  # ours return (output, state), the package's output
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
    cases = {}
    for cell, width in widths.items():
        torch.manual_seed(0)
        cases[cell] = Case(block_of(cell, width, args.layers), width, length, args)
    for _ in range(args.repeats):
        for case in cases.values():
            case.window(args.seconds)
    return {
        (cell, length): {
            "tokens_per_s": case.best,
            "memory_mb": case.memory_mb(),
            "parameters": sum(p.numel() for p in case.block.parameters()),
            "flop_rate": case.best * case.flops,
        }
        for cell, case in cases.items()
    }


def where_measured(args: argparse.Namespace) -> str:
    if args.device.startswith("cuda"):
        where = f"one {torch.cuda.get_device_name()} GPU (CUDA {torch.version.cuda}); memory: peak allocated"
    else:
        where = (
            f"this machine's CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{torch.get_num_threads()} torch threads); memory: what autograd keeps for the backward pass"
        )
    return where


def table(
    results: dict[tuple[str, int], dict[str, float]],
    widths: dict[str, int],
    peak: float,
    args: argparse.Namespace,
) -> str:
    where = where_measured(args)
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
        "tokens/s against lstm's at that length. Of peak: the cell's matrix-product FLOP/s against "
        f"float32 products of 1024 x 1024 on the same device in the same run ({peak / 1e9:,.0f} GFLOP/s).",
        "",
        "| cell | "
        + " | ".join(f"T={length}: tokens/s (x lstm), MB, of peak" for length in args.lengths)
        + " |",
        "| --- |" + " ---: |" * len(args.lengths),
    ]
    for cell in cells:
        row = []
        for length in args.lengths:
            found = results[(cell, length)]
            ratio = found["tokens_per_s"] / results[("lstm", length)]["tokens_per_s"]
            row.append(
                f"{found['tokens_per_s']:,.0f} ({ratio:.2f}x), {found['memory_mb']:,.0f}, "
                f"{100 * found['flop_rate'] / peak:.0f} %"
            )
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    return "\n".join([*lines, ""])


# The sizes the package was first measured at: two blocks of width 128, batch 16, length 256.
PACKAGE_WIDTH, PACKAGE_BLOCKS, PACKAGE_LENGTH = 128, 2, 256


def package_blocks(cell: str) -> nn.Module:
    """The NX-AI package's block stack of ``cell`` at its CPU backends (sLSTM "vanilla": steps in
    Python; mLSTM: its parallel form), four heads, its default block layout (a convolution,
    projections and, for sLSTM, a feed-forward part around the cell)."""
    import xlstm

    if cell == "slstm":
        layer = xlstm.sLSTMLayerConfig(backend="vanilla", num_heads=4, conv1d_kernel_size=4)
        config = xlstm.xLSTMBlockStackConfig(
            slstm_block=xlstm.sLSTMBlockConfig(
                slstm=layer, feedforward=xlstm.FeedForwardConfig(proj_factor=1.3)
            ),
            context_length=PACKAGE_LENGTH,
            num_blocks=PACKAGE_BLOCKS,
            embedding_dim=PACKAGE_WIDTH,
            slstm_at="all",
        )
    else:
        layer = xlstm.mLSTMLayerConfig(conv1d_kernel_size=4, qkv_proj_blocksize=4, num_heads=4)
        config = xlstm.xLSTMBlockStackConfig(
            mlstm_block=xlstm.mLSTMBlockConfig(mlstm=layer),
            context_length=PACKAGE_LENGTH,
            num_blocks=PACKAGE_BLOCKS,
            embedding_dim=PACKAGE_WIDTH,
        )
    return xlstm.xLSTMBlockStack(config)


def package_table(args: argparse.Namespace) -> str | None:
    """Ours beside the package's, at the package's sizes (each at width 128, not equal parameters:
    the package's blocks carry more around the cell); None without the package."""
    try:
        import xlstm  # noqa: F401
    except ImportError:
        print("the xlstm package is not installed (pip install -e '.[xlstm]'): no table against it")
        return None
    torch.manual_seed(0)
    modules = {
        "lstm (ours)": block_of("lstm", PACKAGE_WIDTH, PACKAGE_BLOCKS),
        "slstm (ours)": block_of("slstm", PACKAGE_WIDTH, PACKAGE_BLOCKS),
        "slstm (xlstm package)": package_blocks("slstm"),
        "mlstm (ours)": block_of("mlstm", PACKAGE_WIDTH, PACKAGE_BLOCKS),
        "mlstm (xlstm package)": package_blocks("mlstm"),
    }
    cases = {name: Case(module, PACKAGE_WIDTH, PACKAGE_LENGTH, args) for name, module in modules.items()}
    for _ in range(args.repeats):
        for case in cases.values():
            case.window(args.seconds)
    rate = {name: case.best for name, case in cases.items()}
    version = __import__("importlib.metadata").metadata.version("xlstm")
    lines = [
        "## cells: against the xlstm package",
        "",
        f"`python bench/cells.py` — {PACKAGE_BLOCKS} layers (ours) or blocks (the package's) of width "
        f"{PACKAGE_WIDTH}, batch {args.batch}, length {PACKAGE_LENGTH}, forward + backward, on "
        f"{where_measured(args)}; xlstm {version} (sLSTM backend `vanilla`, mLSTM its parallel form: its "
        "CPU backends), torch "
        f"{torch.__version__}. Best of {args.repeats} windows of {args.seconds:g} s, in turn.",
        "",
        "| model | parameters | tokens/s | x the package's |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, case in cases.items():
        cell = name.split()[0]
        package = rate.get(f"{cell} (xlstm package)")
        against = f"{case.best / package:.2f}x" if package else ""
        parameters = sum(p.numel() for p in case.block.parameters())
        lines.append(f"| {name} | {parameters:,} | {case.best:,.0f} | {against} |")
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "mingru", "minlstm", "slstm", "mlstm"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[64, 256, 1024, 4096])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--width", type=int, default=256, help="the LSTM's; the others' match its parameters")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of windows, the cells in turn")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    parser.add_argument("--no-package", action="store_true", help="skip the xlstm package's table")
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
    texts = [table(results, widths, matmul_peak(torch.device(args.device)), args)]
    against = None if args.no_package else package_table(args)
    texts += [against] if against else []
    print("\n".join(texts))
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from run import merge_results

        path = HERE / "results.md"
        path.write_text(merge_results(path, texts))


if __name__ == "__main__":
    main()
