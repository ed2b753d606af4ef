"""Training throughput through Lightning vs a plain PyTorch loop (same model, same batches, same
``training_step``), per app, plus what each app's ``Bench`` (lstm_apps.registry) asks for: its
decoders side by side (greedy against beam search, argmax against Viterbi …), the share of a
training step spent on features the network computes from raw input, and operator calls per
training step.

    python bench/run.py [--app all|<app>] [--steps N] [--warmup 4] [--repeats 2] [override ...]

The Lightning side is the trainer a user gets (``configs/train.yaml``: default callbacks with the
progress bar and checkpoints, TensorBoard logger, clipping, logging interval), the plain side a
careful hand-written loop that logs its loss at the same interval. Each measurement runs in its
own process (clean peak-memory numbers), alternating plain and Lightning so that machine noise
hits both alike; the best of ``--repeats`` is reported. With CUDA, every row also gets peak GPU
memory and the GPU-busy fraction (device time / wall time of a torch.profiler window after the
timed steps), and an app's ``gpu_cases`` (the tagger with the CoNLL recipe's model at batch 10) are
measured too.
Extra arguments are config overrides of ``configs/train.yaml`` (e.g. ``model.hidden_size=512``).
Prints markdown tables and writes them to ``bench/results.md`` (CPU) or ``bench/results_gpu.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROFILED_STEPS = 10  # GPU only: steps after the timed ones, run under torch.profiler
# Each app's settings (timed steps, units, decoders …) are its ``Bench`` (lstm_apps.registry).
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
    from lstm_apps.pipeline.numerics import apply_matmul_precision
    from lstm_apps.pipeline.train import build_datamodule, build_model

    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=[f"app={app}", "scheduler=none", *bench_of(app).data, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(HERE / ".bench_run")
        cfg.paths.root_dir = str(HERE / ".bench_run")
    apply_matmul_precision(cfg)  # as training does: TF32 matmuls on CUDA unless the config says otherwise
    L.seed_everything(0, workers=True)
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    model = build_model(cfg, datamodule)
    return cfg, model, datamodule


def bench_of(app: str):
    """The app's ``Bench``: what ``make bench`` measures of it and how."""
    from lstm_apps.registry import apps

    return apps()[app].bench


def benched_apps() -> list[str]:
    from lstm_apps.registry import apps

    return [name for name, spec in apps().items() if spec.bench is not None]


def count_units(app: str, batch) -> int:
    """What a training step of ``app`` processes: target tokens, images, sentences …"""
    return bench_of(app).count(batch)


def _first_tensor(batch):
    from lstm_apps.registry import first_tensor

    return first_tensor(batch)


def measure_decoding(app: str, overrides: list[str], sentences: int, train_steps: int = 150) -> dict:
    """Sentences/s of the app's two decoders over validation sentences, at two batch sizes.

    The model is first trained for ``train_steps`` steps so that it ends its outputs with EOS
    like a real model (an untrained one runs every hypothesis to the length limit).
    """
    import torch

    from lstm_apps.pipeline.app_datamodule import move_batch

    cfg, model, datamodule = build(app, overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    optimizer = model.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    for i, batch in enumerate(datamodule.train_dataloader()):
        if i == train_steps:
            break
        loss = model.training_step(move_batch(batch, device), i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    # Settings made from the trained model and its data (a language model) are made once, untimed.
    decoders = [
        (name, {k: v(model, datamodule) if callable(v) else v for k, v in search.items()})
        for name, search in bench_of(app).decoders
    ]
    results: dict[str, dict[str, float]] = {}
    for batch_size in (datamodule.eval_batch_size, 16):
        batches, count = [], 0
        for batch in _eval_batches(datamodule, batch_size):
            batches.append(move_batch(batch, device))
            count += _first_tensor(batch).size(0)
            if count >= sentences:
                break
        row = {}
        for name, search in decoders:
            _decode(model, batches[0], search)  # warm-up
            best = float("inf")
            for _ in range(3):  # best of three passes: decoding runs are short, machine noise is not
                start_time = time.perf_counter()
                for batch in batches:
                    _decode(model, batch, search)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - start_time)
            row[name] = count / best
        results[str(batch_size)] = row
    return {
        "decode": results,
        "sentences": count,
        "train_steps": train_steps,
        "on_gpu": device.type == "cuda",
    }


def _eval_batches(datamodule, batch_size: int):
    """The validation loader at ``batch_size`` (its cached batches dropped): what every app's
    ``decode_batch`` takes."""
    datamodule.eval_batch_size = batch_size
    getattr(datamodule, "_datasets", {}).clear()
    return datamodule.val_dataloader()


def _decode(model, batch, search):
    return model.decode_batch(batch, **search)


def _busy_fraction(prof, wall_seconds: float) -> float:
    """Share of ``wall_seconds`` in which the GPU ran something (kernels, copies): the union of
    the device events' intervals, so that overlapping work is not counted twice. User annotations
    are left out: the profiler also draws ranges such as ``Optimizer.step`` on the GPU timeline,
    and Lightning runs forward and backward inside the optimizer step, so those ranges would
    cover nearly the whole step."""
    from torch.autograd import DeviceType

    spans = sorted(
        (e.time_range.start, e.time_range.end)
        for e in prof.events()
        if e.device_type == DeviceType.CUDA and not getattr(e, "is_user_annotation", False)
    )
    busy_us, reach = 0.0, float("-inf")
    for start, end in spans:
        if end > reach:
            busy_us += end - max(start, reach)
            reach = end
    return busy_us / 1e6 / wall_seconds


class _Window:
    """Wall-clock timing of steps [warmup, warmup + steps) and, on a GPU, a torch.profiler
    window over the following ``profiled`` steps for the GPU-busy fraction."""

    def __init__(self, device, warmup: int, steps: int, profiled: int) -> None:
        self.device, self.warmup, self.steps, self.profiled = device, warmup, steps, profiled
        self.timings: dict[str, float] = {}
        self._profiler = None

    def _sync(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def before(self, index: int) -> None:
        if index == self.warmup:
            self._sync()
            self.timings["start"] = time.perf_counter()
        elif index == self.warmup + self.steps and self.profiled:
            from torch.profiler import ProfilerActivity, profile

            self._profiler = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
            self._profiler.__enter__()
            self.timings["profile_start"] = time.perf_counter()

    def after(self, index: int) -> None:
        if index == self.warmup + self.steps - 1:
            self._sync()
            self.timings["end"] = time.perf_counter()
        elif index == self.warmup + self.steps + self.profiled - 1 and self._profiler is not None:
            self._sync()
            self.timings["profile_end"] = time.perf_counter()
            self._profiler.__exit__(None, None, None)

    def busy(self) -> float | None:
        if self._profiler is None:
            return None
        debug = os.environ.get("BENCH_DEBUG_DIR")
        if debug:  # the profiled window's busiest operators, for finding where time goes
            table = self._profiler.key_averages().table(sort_by="self_device_time_total", row_limit=25)
            cpu = self._profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)
            Path(debug, f"profile-{os.getpid()}.txt").write_text(table + "\n\n" + cpu)
        return _busy_fraction(self._profiler, self.timings["profile_end"] - self.timings["profile_start"])


def _lightning_config(cfg, steps: int, folder: Path):
    """The app's training config as a user runs it — default callbacks, TensorBoard logger,
    progress bar, the trainer's clipping and logging interval — cut to ``steps`` batches and no
    validation (the timed window holds training steps only)."""
    from omegaconf import open_dict

    with open_dict(cfg):
        cfg.paths.output_dir = str(folder)
        cfg.trainer.max_steps = steps
        cfg.trainer.limit_val_batches = 0
        cfg.trainer.num_sanity_val_steps = 0
        cfg.trainer.devices = 1
        # No validation here, so nothing to stop on: early stopping checks after validation only.
        cfg.callbacks.early_stopping.check_on_train_epoch_end = False
    return cfg


def measure(app: str, mode: str, steps: int, warmup: int, overrides: list[str]) -> dict:
    import tempfile

    import lightning as L
    import torch

    from lstm_apps.pipeline.app_datamodule import move_batch
    from lstm_apps.pipeline.train import build_trainer

    cfg, model, datamodule = build(app, overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    profiled = PROFILED_STEPS if device.type == "cuda" else 0
    batches = []
    for batch in datamodule.train_dataloader():
        batches.append(batch)
        if len(batches) == steps + warmup + profiled:
            break
    if len(batches) < steps + warmup + profiled:  # a small split: time what there is
        steps = len(batches) - warmup - profiled
        if steps < 5:
            raise SystemExit(f"{app}: the training split has only {len(batches)} batches")
    if device.type == "cuda":  # as the datamodules' loaders hand batches over on CUDA: pinned
        from lightning.fabric.utilities.apply_func import apply_to_collection

        batches = [apply_to_collection(b, torch.Tensor, torch.Tensor.pin_memory) for b in batches]
    tokens = sum(count_units(app, b) for b in batches[warmup : warmup + steps])
    window = _Window(device, warmup, steps, profiled)
    (HERE / ".bench_run").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{app}-{mode}-", dir=HERE / ".bench_run"))

    if mode == "plain":
        # A careful hand-written loop: lengths stay on the host, the loss is read and written to
        # TensorBoard at the same interval as the trainer logs it, gradients clipped alike.
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(folder))
        every = int(cfg.trainer.log_every_n_steps)
        clip = float(cfg.trainer.gradient_clip_val or 0.0)
        model.to(device).train()
        optimizer = model.configure_optimizers()
        optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
        for i, batch in enumerate(batches):
            window.before(i)
            loss = model.training_step(move_batch(batch, device), i)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            if (i + 1) % every == 0:
                writer.add_scalar("train/loss", loss.item(), i)
            window.after(i)
        writer.close()
    else:

        class Clock(L.Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                window.before(batch_idx)

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                window.after(batch_idx)

        trainer = build_trainer(_lightning_config(cfg, len(batches), folder), [Clock()])
        trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader(batches, batch_size=None))

    elapsed = window.timings["end"] - window.timings["start"]
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
        "gpu_busy": window.busy(),
        "device": torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"cpu x{torch.get_num_threads()} threads",
        "batch": list(_first_tensor(batches[0]).shape),
        "steps": steps,
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "lightning": L.__version__,
    }


def measure_inspection_pass(app: str, overrides: list[str], repeats: int = 3) -> dict:
    """What ``callbacks=inspect`` adds, on the app's default model: milliseconds of its per-step
    work (the gradient norm behind the clipping count, after a real backward; best of 20) and of one
    inspection (the replay of a validation batch, the learning-signal curves and the numbers; best
    of ``repeats``)."""
    import torch

    from lstm_apps.inspection.batch import inspect_batch
    from lstm_apps.inspection.statistics import total_gradient_norm
    from lstm_apps.pipeline.app_datamodule import move_batch

    _, model, datamodule = build(app, overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()

    def synchronised() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    train_batch = move_batch(next(iter(datamodule.train_dataloader())), device)
    model.inspection_loss(train_batch).backward()
    norms = []
    for _ in range(20):
        started = synchronised()
        total_gradient_norm(model)
        norms.append(synchronised() - started)
    datamodule.setup("validate")
    batch = move_batch(next(iter(datamodule.val_dataloader())), device)
    seconds = []
    for _ in range(repeats):
        started = synchronised()
        inspection = inspect_batch(model, batch)
        seconds.append(synchronised() - started)
    return {
        "per_step_ms": 1000 * min(norms),
        "pass_ms": 1000 * min(seconds),
        "scalars": len(inspection.scalars),
    }


def measure_feature_cost(app: str, steps: int, warmup: int, overrides: list[str]) -> dict:
    """Milliseconds of a whole training step (forward, backward, optimiser) and of the features
    the network computes inside its forward (``net.features``: log-mels from audio), on the same
    training batches: what share of a step the features cost."""
    import torch

    from lstm_apps.pipeline.app_datamodule import move_batch

    _, model, datamodule = build(app, overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    optimizer = model.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    batches = []
    for batch in datamodule.train_dataloader():
        batches.append(move_batch(batch, device))
        if len(batches) == steps + warmup:
            break

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def timed(work) -> float:
        for batch in batches[:warmup]:
            work(batch)
        sync()
        start = time.perf_counter()
        for batch in batches[warmup:]:
            work(batch)
        sync()
        return 1000 * (time.perf_counter() - start) / (len(batches) - warmup)

    def step(batch) -> None:
        loss = model.training_step(batch, 0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    compute = bench_of(app).features

    def features(batch) -> None:
        compute(model, batch)

    step_ms, features_ms = timed(step), timed(features)
    return {
        "step_ms": step_ms,
        "features_ms": features_ms,
        "device": str(device),
        "steps": len(batches) - warmup,
    }


def feature_table(app: str, args: argparse.Namespace) -> str:
    result = run_child(app, "features", args)
    share = result["features_ms"] / result["step_ms"]
    return (
        f"\n## {app}: feature cost{' on GPU' if result['device'].startswith('cuda') else ''}\n\n"
        f"Log-mel features (STFT, mel filterbank, log, normalisation, SpecAugment) computed inside the "
        f"network's forward, against a whole training step (forward, backward, AdamW) on the same "
        f"{result['steps']} batches.\n\n| training step (ms) | features (ms) | share of the step |\n|---:|---:|---:|\n"
        f"| {result['step_ms']:.1f} | {result['features_ms']:.2f} | {100 * share:.1f} % |\n\nTarget: <= 5 %.\n"
    )


def measure_operator_calls(app: str, batch_size: int = 32, warmup: int = 3) -> dict:
    """Top-level operator calls of one training step of ``app`` (forward, backward, clipping,
    optimiser) on each of the batches its ``Bench.operator_calls`` builds."""
    import torch

    from lstm_apps.diagnostics.operator_calls import operator_calls
    from lstm_apps.pipeline.app_datamodule import move_batch

    bench = bench_of(app)
    cfg, model, datamodule = build(app, list(bench.operator_overrides))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    optimizer = model.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    clip = float(cfg.trainer.gradient_clip_val or 0.0)

    def step(batch) -> None:
        loss = model.training_step(batch, 0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()

    cases = {
        name: move_batch(batch, device)
        for name, batch in bench.operator_calls(datamodule, batch_size).items()
    }
    for _ in range(warmup):
        step(next(iter(cases.values())))
    counts = {name: sum(operator_calls(lambda b=batch: step(b)).values()) for name, batch in cases.items()}
    return {"device": str(device), "counts": counts}


def run_child(app: str, mode: str, args: argparse.Namespace, extra: list[str] | None = None) -> dict:
    command = [
        sys.executable,
        __file__,
        "--app",
        app,
        "--child",
        mode,
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--sentences",
        str(args.sentences),
    ]
    out = subprocess.run(
        command + args.overrides + (extra or []), capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child '{app} {mode}' failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def training_table(
    app: str, args: argparse.Namespace, case: str = "", extra: list[str] | None = None
) -> tuple[str, dict]:
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for mode in ("plain", "lightning"):
            result = run_child(app, mode, args, extra)
            if mode not in best or result["tokens_per_s"] > best[mode]["tokens_per_s"]:
                best[mode] = result
    plain, lightning = best["plain"], best["lightning"]
    ratio = lightning["tokens_per_s"] / plain["tokens_per_s"]
    on_gpu = plain["gpu_busy"] is not None
    if on_gpu:
        rows = [
            f"| path | {bench_of(app).units}/s | ms/step | peak GPU memory (MB) | GPU busy |",
            "|---|---:|---:|---:|---:|",
        ]
        rows += [
            f"| {name} | {r['tokens_per_s']:,.0f} | {r['ms_per_step']:.2f} | {r['peak_mb']:,.0f} | "
            f"{100 * r['gpu_busy']:.0f} % |"
            for name, r in (("plain PyTorch loop", plain), ("Lightning Trainer", lightning))
        ]
    else:
        rows = [f"| path | {bench_of(app).units}/s | ms/step | peak memory (MB) |", "|---|---:|---:|---:|"]
        rows += [
            f"| {name} | {r['tokens_per_s']:,.0f} | {r['ms_per_step']:.1f} | {r['peak_mb']:,.0f} |"
            for name, r in (("plain PyTorch loop", plain), ("Lightning Trainer", lightning))
        ]
    where = " on GPU" if on_gpu else ""
    busy = (
        (
            f" GPU busy: device time / wall time over {PROFILED_STEPS} further steps under torch.profiler "
            "(which slows the host a little, so it reads low)."
        )
        if on_gpu
        else ""
    )
    header = (
        f"## {app}{' (' + case + ')' if case else ''}: training throughput{where}\n\n"
        f"Model: {plain['params']:,} parameters, first batch {' x '.join(map(str, plain['batch']))}, "
        f"{plain['steps']} timed steps after {args.warmup} warm-up steps, best of {args.repeats}. "
        f"Device: {plain['device']}; torch {plain['torch']}, lightning {plain['lightning']}, "
        f"Python {platform.python_version()}. Overrides: {' '.join(args.overrides + (extra or [])) or 'none'}. "
        f"Lightning: the default callbacks (progress bar, checkpoints, early stopping, samples, LR monitor) "
        f"and TensorBoard logger; plain: the loss read and written to TensorBoard every "
        f"log_every_n_steps.{busy}\n"
    )
    table = header + "\n" + "\n".join(rows) + f"\n\nLightning / plain = **{ratio:.3f}x** (target >= 0.95x).\n"
    return table, lightning


def precision_table(app: str, args: argparse.Namespace, fp32: dict) -> str:
    """GPU only: the Lightning path in bf16-mixed against the float32 (TF32) row just measured."""
    bf16 = run_child(app, "lightning", args, ["trainer.precision=bf16-mixed"])
    rows = [
        f"| precision | {bench_of(app).units}/s | ms/step | peak GPU memory (MB) |",
        "|---|---:|---:|---:|",
    ]
    rows += [
        f"| {name} | {r['tokens_per_s']:,.0f} | {r['ms_per_step']:.2f} | {r['peak_mb']:,.0f} |"
        for name, r in (("32-true (TF32 matmuls)", fp32), ("bf16-mixed", bf16))
    ]
    return (
        f"\n## {app}: precision on GPU\n\nLightning Trainer as above; one run of bf16-mixed.\n\n"
        + "\n".join(rows)
        + f"\n\nbf16-mixed / 32-true = **{bf16['tokens_per_s'] / fp32['tokens_per_s']:.2f}x**.\n"
    )


def operator_table(app: str, args: argparse.Namespace) -> str:
    result = run_child(app, "ops", args)
    rows = ["| batch of 32 sentences | operator calls per training step |", "|---|---:|"]
    rows += [f"| {name} | {count} |" for name, count in result["counts"].items()]
    where = " on GPU" if result["device"].startswith("cuda") else ""
    return (
        f"\n## {app}: operator calls per training step{where}\n\nTop-level operators recorded by torch.profiler for "
        f"{bench_of(app).operator_note}\n\n" + "\n".join(rows) + "\n"
    )


def decoding_table(app: str, args: argparse.Namespace) -> str:
    result = run_child(app, "decode", args)
    bench = bench_of(app)
    unit = bench.decode_units
    names = [name for name, _ in bench.decoders]
    fast, others = names[0], names[1:]
    rows = [
        f"| batch size | {' | '.join(f'{n} {unit}/s' for n in names)} | "
        + " | ".join(f"{n} / {fast} time" for n in others)
        + " |",
        "|---:|" + "---:|" * (len(names) + len(others)),
    ]
    for batch_size, speeds in result["decode"].items():
        rows.append(
            f"| {batch_size} | {' | '.join(f'{speeds[n]:,.0f}' for n in names)} | "
            + " | ".join(f"{speeds[fast] / speeds[n]:.2f}x" for n in others)
            + " |"
        )
    target = f"\n\n{bench.decode_target}\n" if bench.decode_target else "\n"
    trained = f"model trained {result['train_steps']} steps first{bench.decode_note}"
    return (
        f"\n## {app}: decoding throughput{' on GPU' if result['on_gpu'] else ''}\n\n"
        f"{result['sentences']} validation {unit}, {trained}.\n\n" + "\n".join(rows) + target
    )


def scaling_run(app: str, extra: list[str], overrides: list[str], folder: Path) -> tuple[float, int]:
    """Seconds of the second training epoch of a real ``lstm-apps train`` run, and its samples."""
    import re

    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from lstm_apps.paths import config_dir

    steps = bench_of(app).scaling_steps
    args = [
        f"app={app}",
        "callbacks=minimal",
        "callbacks.model_checkpoint=null",
        "callbacks.last_checkpoint=null",
        "callbacks.early_stopping=null",
        "scheduler=none",
        "logger=csv",
        "test_after_fit=false",
        "trainer.max_epochs=2",
        f"trainer.limit_train_batches={steps}",
        "trainer.limit_val_batches=0",
        f"paths.data_dir={HERE / '.bench_run' / 'data'}",
        f"hydra.run.dir={folder}",
        *bench_of(app).data,
        *extra,
        *overrides,
    ]
    folder.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [sys.executable, "-m", "lstm_apps.cli.main", "train", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"scaling run '{app} {' '.join(extra)}' failed:\n{out.stderr[-3000:]}")
    found = re.findall(r"epoch 1 \(([0-9.]+)s", (folder / "train.log").read_text())
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=[f"app={app}", *extra, *overrides])
    strategy = OmegaConf.select(cfg, "trainer.strategy._target_", default=cfg.trainer.get("strategy"))
    world = int(cfg.trainer.devices) if "ddp" in str(strategy).lower() else 1
    return float(found[-1]), steps * world * int(cfg.data.batch_size)


def scaling_table(app: str, args: argparse.Namespace) -> str:
    unit = bench_of(app).scaling_units or bench_of(app).units
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
        f"\n## {app}: processes and precision\n\nReal `lstm-apps train` runs, {bench_of(app).scaling_steps} training "
        f"batches per process in the timed second epoch (validation off), data.batch_size per process.\n\n"
        + "\n".join(rows)
        + "\n"
    )


def merge_results(path: Path, fresh: list[str]) -> str:
    """Replace the sections just measured (same heading); keep the others as they were, grouped by app."""
    sections: dict[str, str] = {}
    if path.exists():
        for chunk in path.read_text().split("\n## ")[1:]:
            sections[chunk.splitlines()[0]] = "## " + chunk.strip() + "\n"
    for section in fresh:
        text = section.strip()
        sections[text.splitlines()[0].removeprefix("## ")] = text + "\n"
    order = benched_apps()

    def app_of(heading: str) -> int:
        name = heading.split(":")[0].split(" ")[0]
        return order.index(name) if name in order else len(order)

    ordered = sorted(sections.items(), key=lambda item: app_of(item[0]))
    return "# Benchmarks (`make bench`)\n\n" + "\n".join(text for _, text in ordered)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app", choices=["all", *benched_apps()], default="all")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed steps (default: the app's Bench.steps, or Bench.gpu_steps on a GPU)",
    )
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=1000, help="sentences/images timed when decoding")
    parser.add_argument(
        "--no-scaling", action="store_true", help="skip the 1 vs 2 processes / fp32 vs bf16 runs"
    )
    parser.add_argument(
        "--only-training", action="store_true", help="only the Lightning vs plain training tables"
    )
    parser.add_argument(
        "--child",
        choices=["plain", "lightning", "inspection-pass", "decode", "ops", "features"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--results", type=Path, default=HERE / "results.md", help="the page the sections are merged into"
    )
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if args.steps is None:
        # Enough steps for a timed window of several seconds (each app's Bench.steps).
        args.steps = bench_of(args.app).steps if args.app != "all" else 20
    if args.child == "decode":
        print(json.dumps(measure_decoding(args.app, args.overrides, args.sentences)))
        return
    if args.child == "features":
        print(json.dumps(measure_feature_cost(args.app, args.steps, args.warmup, args.overrides)))
        return
    if args.child == "inspection-pass":
        print(json.dumps(measure_inspection_pass(args.app, args.overrides)))
        return
    if args.child == "ops":
        print(json.dumps(measure_operator_calls(args.app)))
        return
    if args.child:
        print(json.dumps(measure(args.app, args.child, args.steps, args.warmup, args.overrides)))
        return
    import torch

    on_gpu = torch.cuda.is_available()
    apps = benched_apps() if args.app == "all" else [args.app]
    explicit_steps = None if "--steps" not in " ".join(sys.argv) else args.steps
    fresh: list[str] = []
    for app in apps:
        sections: list[str] = []
        if explicit_steps is None:
            args.steps = bench_of(app).gpu_steps if on_gpu else bench_of(app).steps
        table, lightning = training_table(app, args)
        sections.append(table)
        if args.only_training:  # on a GPU with the cases its targets are set for (tagger at batch 10)
            for title, overrides in bench_of(app).gpu_cases if on_gpu else ():
                sections.append(training_table(app, args, title, list(overrides))[0])
            fresh += sections
            print("\n".join(sections), flush=True)
            continue
        if on_gpu:
            sections.append(precision_table(app, args, lightning))
            for title, overrides in bench_of(app).gpu_cases:
                sections.append(training_table(app, args, title, list(overrides))[0])
        if bench_of(app).operator_calls is not None:
            sections.append(operator_table(app, args))
        if bench_of(app).features is not None:
            sections.append(feature_table(app, args))
        if bench_of(app).decoders:
            sections.append(decoding_table(app, args))
        if not args.no_scaling and not on_gpu:  # the 1 vs 2 processes rows are CPU (gloo) runs
            sections.append(scaling_table(app, args))
        print("\n".join(sections), flush=True)
        fresh += sections
    args.results.write_text(merge_results(args.results, fresh))


if __name__ == "__main__":
    main()
