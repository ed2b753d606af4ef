"""Text generator training throughput: Lightning vs a plain PyTorch loop, same model and batches.

    python bench/run.py [--steps 20] [--warmup 4] [--repeats 2] [override ...]

Each measurement runs in its own process (clean peak-memory numbers), alternating plain and
Lightning so that machine noise hits both alike; the best of ``--repeats`` is reported. Extra
arguments are config overrides of ``configs/train.yaml`` (e.g. ``model.hidden_size=512``).
Prints a markdown table and writes it to ``bench/results.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(overrides: list[str]):
    """Model, optimiser factory and the first batches of the default data, as training sees them."""
    import lightning as L
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from lstm_apps.paths import config_dir
    from lstm_apps.pipeline.train import build_datamodule, build_model

    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=["app=textgen", "scheduler=none", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(HERE / ".bench_run")
        cfg.paths.root_dir = str(HERE)
    L.seed_everything(0, workers=True)
    datamodule = build_datamodule(cfg)
    datamodule.setup("fit")
    model = build_model(cfg, datamodule)
    return cfg, model, datamodule


def measure(mode: str, steps: int, warmup: int, overrides: list[str]) -> dict:
    import lightning as L
    import torch

    cfg, model, datamodule = build(overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batches = []
    for batch in datamodule.train_dataloader():
        batches.append(batch)
        if len(batches) == steps + warmup:
            break
    tokens = sum(y.numel() for _, y in batches[warmup:])
    clip = float(cfg.trainer.gradient_clip_val or 0.0)
    timings: dict[str, float] = {}

    if mode == "plain":
        model.to(device).train()
        optimizer = model.configure_optimizers()
        optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
        for i, batch in enumerate(batches):
            if i == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                timings["start"] = time.perf_counter()
            batch = tuple(t.to(device, non_blocking=True) for t in batch)
            loss = model._stream_loss(batch, "train")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings["end"] = time.perf_counter()
    else:

        class Clock(L.Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                if batch_idx == warmup:
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    timings["start"] = time.perf_counter()

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                if batch_idx == len(batches) - 1:
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    timings["end"] = time.perf_counter()

        trainer = L.Trainer(
            accelerator="auto",
            devices=1,
            precision=cfg.trainer.precision,
            max_steps=len(batches),
            gradient_clip_val=clip or None,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            callbacks=[Clock()],
        )
        trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader(batches, batch_size=None))

    elapsed = timings["end"] - timings["start"]
    peak_mb = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "mode": mode,
        "tokens_per_s": tokens / elapsed,
        "ms_per_step": 1000 * elapsed / steps,
        "peak_mb": peak_mb,
        "device": torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"cpu x{torch.get_num_threads()} threads",
        "batch": list(batches[0][0].shape),
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "lightning": L.__version__,
    }


def run_child(mode: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
    ]
    out = subprocess.run(command + args.overrides, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child '{mode}' failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=["plain", "lightning"], help=argparse.SUPPRESS)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.steps, args.warmup, args.overrides)))
        return

    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for mode in ("plain", "lightning"):
            result = run_child(mode, args)
            if mode not in best or result["tokens_per_s"] > best[mode]["tokens_per_s"]:
                best[mode] = result
    plain, lightning = best["plain"], best["lightning"]
    ratio = lightning["tokens_per_s"] / plain["tokens_per_s"]
    rows = [
        "| path | tokens/s | ms/step | peak memory (MB) |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {r['tokens_per_s']:,.0f} | {r['ms_per_step']:.1f} | {r['peak_mb']:,.0f} |"
            for name, r in (("plain PyTorch loop", plain), ("Lightning Trainer", lightning))
        ),
    ]
    header = (
        f"## Text generator training throughput\n\n"
        f"Model: {plain['params']:,} parameters, batch {plain['batch'][0]} x {plain['batch'][1]} tokens, "
        f"{args.steps} timed steps after {args.warmup} warm-up steps, best of {args.repeats}. "
        f"Device: {plain['device']}; torch {plain['torch']}, lightning {plain['lightning']}, "
        f"Python {platform.python_version()}. Overrides: {' '.join(args.overrides) or 'none'}.\n"
    )
    verdict = f"\nLightning / plain = **{ratio:.3f}x** (target >= 0.95x).\n"
    table = header + "\n" + "\n".join(rows) + "\n" + verdict
    print(table)
    (HERE / "results.md").write_text("# Benchmarks (`make bench`)\n\n" + table)


if __name__ == "__main__":
    main()
