"""What ``callbacks=inspect`` costs, per app, on its default model and data (docs/inspecting.md).

    python bench/inspect_cost.py [--app all|<app>] [--steps N] [--repeats 2] [--every 200]

Measured in one run, each in its own process (``bench/run.py``'s children): the app's Lightning
training step as a user runs it (best of ``--repeats``), and what the callback adds to it — its
work at every step (the gradient norm behind the clipping count) and one inspection (the
step-by-step replay of a validation batch, its learning-signal curves and numbers). The cost at
the interval is ``(per step + inspection / every) / step``: the goal is at most 10 % at the
default interval (200 steps). The added work is timed by itself rather than as the difference of
two training runs, which on this machine differ by +-10 % from run to run whatever they run.
Writes the section into ``bench/results.md`` (``bench/results_gpu.md`` on a GPU).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import bench_of, benched_apps, merge_results, run_child  # noqa: E402

GOAL = 0.10


def measure(app: str, args: argparse.Namespace) -> dict[str, float]:
    step = min(run_child(app, "lightning", args)["ms_per_step"] for _ in range(args.repeats))
    added = run_child(app, "inspection-pass", args)
    cost = (added["per_step_ms"] + added["pass_ms"] / args.every) / step
    return {"step": step, "per_step": added["per_step_ms"], "pass_ms": added["pass_ms"], "cost": cost}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app", choices=["all", *benched_apps()], default="all")
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps (default: each app's Bench.steps)"
    )
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--every", type=int, default=200, help="callbacks.inspect.every_n_steps")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    args.sentences, args.overrides = 0, []
    import torch

    on_gpu = torch.cuda.is_available()
    results = args.results or HERE / ("results_gpu.md" if on_gpu else "results.md")
    apps = benched_apps() if args.app == "all" else [args.app]
    rows = []
    explicit = args.steps
    for app in apps:
        args.steps = explicit or (bench_of(app).gpu_steps if on_gpu else bench_of(app).steps)
        m = measure(app, args)
        rows.append(
            f"| {app} | {m['step']:.1f} | {m['per_step']:.2f} | {m['pass_ms']:,.0f} | **{100 * m['cost']:.1f} %** |"
        )
        print(rows[-1], flush=True)
    device = torch.cuda.get_device_name() if on_gpu else f"cpu x{torch.get_num_threads()} threads"
    section = (
        "## callbacks=inspect: its cost at the default interval\n\n"
        f"Each app's default model and data: its Lightning training step (ms, best of {args.repeats}), "
        "the callback's work at every step (the gradient norm behind the clipping count, ms) and one "
        "inspection (the step-by-step replay of a validation batch with its learning-signal curves, "
        f"ms). Cost at every_n_steps={args.every}: (per step + one inspection / {args.every}) / step; "
        f"goal <= {100 * GOAL:.0f} %. Device: {device}; torch {torch.__version__}.\n\n"
        "| app | training step (ms) | per step (ms) | one inspection (ms) | cost at the interval |\n"
        "|---|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n"
    )
    results.write_text(merge_results(results, [section]))
    print(section)


if __name__ == "__main__":
    main()
