"""Training throughput through Lightning vs a plain PyTorch loop (same model, same batches, same
``training_step``), per app, plus decoding speed (seq2seq greedy vs beam 5, captioner greedy vs beam 3, tagger
per-token argmax vs CRF Viterbi).

    python bench/run.py [--app all|textgen|seq2seq|captioner|tagger|classifier|forecaster] [--steps N] [--warmup 4] [--repeats 2] [override ...]

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

from lstm_apps.text.batching import pad_sequences

HERE = Path(__file__).resolve().parent
DEFAULT_STEPS = {
    "textgen": 20,
    "seq2seq": 150,
    "captioner": 20,
    "tagger": 150,
    "classifier": 60,
    "forecaster": 40,
}
# Scaling runs: training batches per process in the timed (second) epoch.
# (An epoch must hold that many batches per process also with 2 processes.)
SCALING_STEPS = {
    "textgen": 20,
    "seq2seq": 100,
    "captioner": 15,
    "tagger": 80,
    "classifier": 30,
    "forecaster": 20,
}
SCALING_SETUPS = (
    ("1 process, fp32", []),
    ("ddp_cpu: 2 processes, fp32", ["trainer=ddp_cpu"]),
    ("1 process, bf16-mixed", ["trainer.precision=bf16-mixed"]),
)


def build(app: str, overrides: list[str]):
    """Model and set-up datamodule of ``app`` with its default data, as training sees them."""
    import lightning as L
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from lstm_apps.paths import config_dir
    from lstm_apps.pipeline.train import build_datamodule, build_model

    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=[f"app={app}", "scheduler=none", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(HERE / ".bench_run")
        cfg.paths.root_dir = str(HERE / ".bench_run")
    L.seed_everything(0, workers=True)
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    model = build_model(cfg, datamodule)
    return cfg, model, datamodule


UNITS = {"textgen": "target tokens", "seq2seq": "target tokens", "captioner": "images", "tagger": "sentences",
         "classifier": "texts", "forecaster": "windows"}  # fmt: skip
# Decoders compared per app: (column name, argument of _decode).
DECODERS = {
    "seq2seq": (("greedy", 1), ("beam 5", 5)),
    "captioner": (("greedy", 1), ("beam 3", 3)),
    "tagger": (("argmax", "argmax"), ("Viterbi", "viterbi")),
}


def count_units(batch) -> int:
    """What a training step processes: target tokens (padding excluded), images or sentences."""
    if isinstance(batch, dict) and "images" in batch:
        return batch["images"].size(0)
    for key in ("words", "tokens", "inputs"):  # tagger, classifier, forecaster: one sample per row
        if isinstance(batch, dict) and key in batch:
            return batch[key].size(0)
    if isinstance(batch, dict):
        return int((batch["tgt_out"] != 0).sum())
    return batch[1].numel()


def _first_tensor(batch):
    if isinstance(batch, dict):
        return next(batch[k] for k in ("images", "words", "tokens", "inputs", "src") if k in batch)
    return batch[0]


def to_device(batch, device):
    if isinstance(batch, dict):
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    return tuple(t.to(device, non_blocking=True) for t in batch)


def measure_decoding(app: str, overrides: list[str], sentences: int, train_steps: int = 150) -> dict:
    """Sentences/s of the app's two decoders over validation sentences, at two batch sizes.

    The model is first trained for ``train_steps`` steps so that it ends its outputs with EOS
    like a real model (an untrained one runs every hypothesis to the length limit).
    """
    import torch

    cfg, model, datamodule = build(app, overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    optimizer = model.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    for i, batch in enumerate(datamodule.train_dataloader()):
        if i == train_steps:
            break
        loss = model.training_step(to_device(batch, device), i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    results: dict[str, dict[str, float]] = {}
    for batch_size in (datamodule.eval_batch_size, 16):
        batches, count = [], 0
        for batch in _eval_batches(app, datamodule, batch_size):
            batches.append(to_device(batch, device))
            count += _first_tensor(batch).size(0)
            if count >= sentences:
                break
        row = {}
        for name, width in DECODERS[app]:
            _decode(model, batches[0], width)  # warm-up
            best = float("inf")
            for _ in range(3):  # best of three passes: decoding runs are short, machine noise is not
                start_time = time.perf_counter()
                for batch in batches:
                    _decode(model, batch, width)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - start_time)
            row[name] = count / best
        results[str(batch_size)] = row
    return {"decode": results, "sentences": count, "train_steps": train_steps}


def _eval_batches(app: str, datamodule, batch_size: int):
    if app in ("captioner", "tagger"):
        datamodule.eval_batch_size = batch_size
        getattr(datamodule, "_datasets", {}).clear()
        return datamodule.val_dataloader()
    encoded = [src for src, _ in datamodule.encoded["val"]]
    return (
        dict(zip(("src", "src_lengths"), pad_sequences(encoded[i : i + batch_size], 0), strict=True))
        for i in range(0, len(encoded), batch_size)
    )


def _decode(model, batch, beam):
    if "words" in batch:
        emissions = model(batch)
        return model.crf.viterbi(emissions, model.mask(batch)) if beam == "viterbi" else emissions.argmax(-1)
    if "images" in batch:
        return model.decode(batch["images"], beam_size=beam)
    return model.decode(batch["src"], batch["src_lengths"], beam_size=beam)


def measure(app: str, mode: str, steps: int, warmup: int, overrides: list[str]) -> dict:
    import lightning as L
    import torch

    cfg, model, datamodule = build(app, overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batches = []
    for batch in datamodule.train_dataloader():
        batches.append(batch)
        if len(batches) == steps + warmup:
            break
    tokens = sum(count_units(b) for b in batches[warmup:])
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
            loss = model.training_step(to_device(batch, device), i)
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
        "batch": list(_first_tensor(batches[0]).shape),
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "lightning": L.__version__,
    }


def run_child(app: str, mode: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--app", app, "--child", mode, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--sentences", str(args.sentences)]  # fmt: skip
    out = subprocess.run(command + args.overrides, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child '{app} {mode}' failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def training_table(app: str, args: argparse.Namespace) -> str:
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for mode in ("plain", "lightning"):
            result = run_child(app, mode, args)
            if mode not in best or result["tokens_per_s"] > best[mode]["tokens_per_s"]:
                best[mode] = result
    plain, lightning = best["plain"], best["lightning"]
    ratio = lightning["tokens_per_s"] / plain["tokens_per_s"]
    rows = [
        f"| path | {UNITS[app]}/s | ms/step | peak memory (MB) |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {r['tokens_per_s']:,.0f} | {r['ms_per_step']:.1f} | {r['peak_mb']:,.0f} |"
            for name, r in (("plain PyTorch loop", plain), ("Lightning Trainer", lightning))
        ),
    ]
    header = (
        f"## {app}: training throughput\n\n"
        f"Model: {plain['params']:,} parameters, first batch {' x '.join(map(str, plain['batch']))}, "
        f"{args.steps} timed steps after {args.warmup} warm-up steps, best of {args.repeats}. "
        f"Device: {plain['device']}; torch {plain['torch']}, lightning {plain['lightning']}, "
        f"Python {platform.python_version()}. Overrides: {' '.join(args.overrides) or 'none'}.\n"
    )
    return header + "\n" + "\n".join(rows) + f"\n\nLightning / plain = **{ratio:.3f}x** (target >= 0.95x).\n"


def decoding_table(app: str, args: argparse.Namespace) -> str:
    result = run_child(app, "decode", args)
    unit = "images" if app == "captioner" else "sentences"
    (fast, _), (slow, _) = DECODERS[app]
    rows = [
        f"| batch size | {fast} {unit}/s | {slow} {unit}/s | {slow} / {fast} time |",
        "|---:|---:|---:|---:|",
    ]
    for batch_size, speeds in result["decode"].items():
        rows.append(
            f"| {batch_size} | {speeds[fast]:,.0f} | {speeds[slow]:,.0f} | {speeds[fast] / speeds[slow]:.2f}x |"
        )
    target = "\n\nTarget: beam 5 <= 3x greedy.\n" if app == "seq2seq" else "\n"
    trained = f"model trained {result['train_steps']} steps first"
    if app != "tagger":
        trained += " (so hypotheses end with EOS as they do in use)"
    return (
        f"\n## {app}: decoding throughput\n\n{result['sentences']} validation {unit}, {trained}.\n\n"
        + "\n".join(rows)
        + target
    )


def scaling_run(app: str, extra: list[str], overrides: list[str], folder: Path) -> tuple[float, int]:
    """Seconds of the second training epoch of a real ``lstm-apps train`` run, and its samples."""
    import re

    from hydra import compose, initialize_config_dir

    from lstm_apps.paths import config_dir

    steps = SCALING_STEPS[app]
    args = [f"app={app}", "callbacks=minimal", "callbacks.model_checkpoint=null", "callbacks.last_checkpoint=null",
            "callbacks.early_stopping=null", "scheduler=none", "logger=csv", "test_after_fit=false",
            "trainer.max_epochs=2", f"trainer.limit_train_batches={steps}", "trainer.limit_val_batches=0",
            f"paths.data_dir={HERE / '.bench_run' / 'data'}", f"hydra.run.dir={folder}", *extra, *overrides]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([sys.executable, "-m", "lstm_apps.cli.main", "train", *args], cwd=folder,
                         capture_output=True, text=True, check=False)  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"scaling run '{app} {' '.join(extra)}' failed:\n{out.stderr[-3000:]}")
    found = re.findall(r"epoch 1 \(([0-9.]+)s", (folder / "train.log").read_text())
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=[f"app={app}", *extra, *overrides])
    world = int(cfg.trainer.devices) if cfg.trainer.get("strategy") == "ddp" else 1
    return float(found[-1]), steps * world * int(cfg.data.batch_size)


def scaling_table(app: str, args: argparse.Namespace) -> str:
    unit = {"textgen": "rows", "seq2seq": "pairs"}.get(app, UNITS[app])
    rows = [f"| setup | {unit}/s | epoch seconds | vs 1 process fp32 |", "|---|---:|---:|---:|"]
    base = None
    for i, (name, extra) in enumerate(SCALING_SETUPS):
        seconds, samples = scaling_run(
            app, extra, args.overrides, HERE / ".bench_run" / "scaling" / app / str(i)
        )
        speed = samples / seconds
        base = base or speed
        rows.append(f"| {name} | {speed:,.0f} | {seconds:.1f} | {speed / base:.2f}x |")
    return (
        f"\n## {app}: processes and precision\n\nReal `lstm-apps train` runs, {SCALING_STEPS[app]} training "
        f"batches per process in the timed second epoch (validation off), data.batch_size per process.\n\n"
        + "\n".join(rows)
        + "\n"
    )


def merge_results(path: Path, fresh: dict[str, list[str]]) -> str:
    """Replace the sections of the apps just measured; keep the other apps' sections as they were."""
    kept: dict[str, list[str]] = {}
    if path.exists():
        for chunk in path.read_text().split("\n## ")[1:]:
            kept.setdefault(chunk.split(":", 1)[0].strip(), []).append("## " + chunk.strip() + "\n")
    kept.update({app: [section.strip() + "\n" for section in sections] for app, sections in fresh.items()})
    ordered = [app for app in UNITS if app in kept]
    return "# Benchmarks (`make bench`)\n\n" + "\n".join(sec for app in ordered for sec in kept[app])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app", choices=["all", *UNITS], default="all")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed steps (default per app: see DEFAULT_STEPS)",
    )
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=1000, help="sentences/images timed when decoding")
    parser.add_argument(
        "--no-scaling", action="store_true", help="skip the 1 vs 2 processes / fp32 vs bf16 runs"
    )
    parser.add_argument("--child", choices=["plain", "lightning", "decode"], help=argparse.SUPPRESS)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if args.steps is None:
        # Enough steps for a timed window of several seconds: seq2seq steps are ~15x shorter.
        args.steps = DEFAULT_STEPS.get(args.app, 20)
    if args.child == "decode":
        print(json.dumps(measure_decoding(args.app, args.overrides, args.sentences)))
        return
    if args.child:
        print(json.dumps(measure(args.app, args.child, args.steps, args.warmup, args.overrides)))
        return
    apps = list(UNITS) if args.app == "all" else [args.app]
    explicit_steps = None if "--steps" not in " ".join(sys.argv) else args.steps
    fresh: dict[str, list[str]] = {}
    for app in apps:
        sections: list[str] = []
        if explicit_steps is None:
            args.steps = DEFAULT_STEPS[app]
        sections.append(training_table(app, args))
        if app in DECODERS:
            sections.append(decoding_table(app, args))
        if not args.no_scaling:
            sections.append(scaling_table(app, args))
        print("".join(sections), flush=True)
        fresh[app] = sections
    results = HERE / "results.md"
    results.write_text(merge_results(results, fresh))


if __name__ == "__main__":
    main()
