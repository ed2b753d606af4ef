"""Large-corpus benchmark: the text generator on 10 MB / 100 MB / 1 GB of generated text.

    python bench/large_corpus.py 10 100 [1000] [--work DIR]
    python bench/large_corpus.py --pairs 200 1000 [--src DIR]     # seq2seq, thousands of pairs

Per size, in fresh child processes: the preparation (char tokenizer: count, encode, write the
store) with its time, MB/s and peak RSS; then a real ``lstm-apps train`` with the store present
(default textgen model, ``trainer.max_steps`` small): seconds from Python start to the first
training step, peak RSS, and the resident memory at the end split into anonymous and file-backed
(memory-mapped store pages, shared and reclaimable). Prints a Markdown table. Not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import lightning as L

ROOT = Path(__file__).resolve().parents[1]
WORDS = "the of and lstm model corpus memory token train é rank node data stream value x=1;".split()


class FirstStep(L.Callback):
    """Prints the seconds since ``BENCH_T0`` at the first training step, and memory at the end."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0 and trainer.global_step == 0:
            print(f"BENCH first_step {time.time() - float(os.environ['BENCH_T0']):.2f}", flush=True)

    def on_train_end(self, trainer, pl_module) -> None:
        status = Path("/proc/self/status").read_text()
        fields = {k: int(v) for k, v in re.findall(r"^(RssAnon|RssFile|VmHWM):\s+(\d+) kB", status, re.M)}
        print("BENCH " + " ".join(f"{k}={v}" for k, v in fields.items()), flush=True)


def generate(path: Path, megabytes: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    words = np.array(WORDS)
    target = megabytes * 1_000_000
    with path.open("w", encoding="utf-8") as out:
        written = 0
        while written < target:
            text = " ".join(rng.choice(words, 200_000)) + "\n\n"
            out.write(text)
            written += len(text.encode("utf-8"))


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MB) and output of ``command`` run under ``/usr/bin/time``."""
    started = time.time()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %M", *command],
        env={**env, "BENCH_T0": str(started)},
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:] + done.stderr[-3000:])
    seconds, kilobytes = re.findall(r"TIME ([\d.]+) (\d+)", done.stderr)[-1]
    return float(seconds), int(kilobytes) // 1024, done.stdout + done.stderr


# A few steps with the first-step timer, no early stopping, plots or test: what both benchmarks run.
SHORT_RUN = [
    "callbacks=minimal",
    "callbacks.early_stopping=null",
    "+callbacks.first_step._target_=large_corpus.FirstStep",
    "trainer.max_steps=3",
    "trainer.limit_val_batches=2",
    "trainer.enable_progress_bar=false",
    "test_after_fit=false",
    "logger=csv",
]


def overrides(text: Path, val: Path) -> list[str]:
    return [
        "app=textgen",
        "data/corpus=text_files",
        f"data.corpus.train={text}",
        f"data.corpus.val={val}",
        *SHORT_RUN,
    ]


def run_size(megabytes: int, work: Path) -> dict[str, float]:
    folder = work / f"{megabytes}mb"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    text, val = folder / "train.txt", folder / "val.txt"
    generate(text, megabytes)
    generate(val, 1)
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}",
        "PYTHONWARNINGS": "ignore",
    }
    prepare = (
        "import time, large_corpus as B;"
        "from lstm_apps.apps.textgen.datamodule import TextStreamDataModule as M;"
        "from lstm_apps.apps.textgen.corpus import TextFiles as F;"
        "t = time.perf_counter();"
        f"M(F({str(text)!r}, {str(val)!r}), prepared_dir={str(folder / 'prepared' / 'textgen')!r}).prepare_data();"
        "print(f'BENCH prep_s {time.perf_counter() - t:.2f}');"
        "B.FirstStep().on_train_end(None, None)"
    )
    _, prep_mb, prep_out = timed([sys.executable, "-c", prepare], env, folder)
    prep_s = float(re.findall(r"BENCH prep_s ([\d.]+)", prep_out)[-1])
    prep_anon = int(re.findall(r"RssAnon=(\d+)", prep_out)[-1]) // 1024
    command = [sys.executable, "-m", "lstm_apps.cli.main", "train", *overrides(text, val)]
    command.append(f"paths.data_dir={folder}")
    _, train_mb, output = timed(command, env, folder)
    first = float(re.findall(r"BENCH first_step ([\d.]+)", output)[-1])
    memory = dict(re.findall(r"(RssAnon|RssFile)=(\d+)", output))
    stored = sum(f.stat().st_size for f in (folder / "prepared").rglob("*.bin"))
    shutil.rmtree(folder)
    return {
        "MB": megabytes,
        "prepare_s": prep_s,
        "prepare_mb_s": megabytes / prep_s,
        "prepare_peak_mb": prep_mb,
        "prepare_anon_mb": prep_anon,
        "store_mb": stored / 1e6,
        "first_step_s": first,
        "train_peak_mb": train_mb,
        "rss_anon_mb": int(memory.get("RssAnon", 0)) / 1024,
        "rss_file_mb": int(memory.get("RssFile", 0)) / 1024,
    }


def generate_pairs(path: Path, thousands: int) -> None:
    """``thousands`` x 1000 TSV pairs of 5-30 random words each side."""
    import numpy as np

    rng = np.random.default_rng(0)
    words = np.array(WORDS)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(thousands):
            lengths = rng.integers(5, 31, size=(1000, 2))
            drawn = rng.choice(words, int(lengths.sum()))
            cuts = np.cumsum(lengths.ravel())[:-1]
            sides = [" ".join(part) for part in np.split(drawn, cuts)]
            out.write("".join(f"{a}\t{b}\n" for a, b in zip(sides[::2], sides[1::2], strict=True)))


def run_pairs(thousands: int, work: Path, src: Path) -> dict[str, float]:
    """Seq2seq on ``thousands`` k pairs: a first run (prepares, if this code has a store) and a
    second; start -> first step and peak RSS of each. ``src`` picks the code measured."""
    folder = work / f"{thousands}k-pairs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    train, val = folder / "train.tsv", folder / "val.tsv"
    generate_pairs(train, thousands)
    generate_pairs(val, 1)
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT / 'bench'}", "PYTHONWARNINGS": "ignore"}
    command = [
        sys.executable,
        "-m",
        "lstm_apps.cli.main",
        "train",
        "app=seq2seq",
        "data/corpus=parallel_files",
        f"data.corpus.train={train}",
        f"data.corpus.val={val}",
        "data.tokenizer=word",
        *SHORT_RUN,
        f"paths.data_dir={folder}",
    ]
    row: dict[str, float] = {"pairs_k": thousands, "tsv_mb": train.stat().st_size / 1e6}
    for run in ("first", "second"):
        _, peak, output = timed(command, env, folder)
        row[f"{run}_step_s"] = float(re.findall(r"BENCH first_step ([\d.]+)", output)[-1])
        row[f"{run}_peak_mb"] = peak
        row[f"{run}_anon_mb"] = int(re.findall(r"RssAnon=(\d+)", output)[-1]) / 1024
    shutil.rmtree(folder)
    return row


def main_pairs(sizes: list[int], work: Path, src: Path) -> None:
    rows = [run_pairs(size, work, src) for size in sizes]
    print(f"\nMachine: {os.cpu_count()} CPU cores, {platform.python_version()}, code: {src}")
    print("seq2seq, word tokenizer, default model, trainer.max_steps=3\n")
    print(
        "| pairs | train TSV | 1st run: start -> 1st step | peak RSS | 2nd run: start -> 1st step | peak RSS | anon RSS at end |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['pairs_k']:,}k | {r['tsv_mb']:.0f} MB | {r['first_step_s']:.1f} s | {r['first_peak_mb']:,} MB "
            f"| {r['second_step_s']:.1f} s | {r['second_peak_mb']:,} MB | {r['second_anon_mb']:,.0f} MB |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sizes", nargs="*", type=int, default=[10, 100], help="corpus sizes in MB (k pairs with --pairs)"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/lstm-apps-large-corpus"))
    parser.add_argument("--pairs", action="store_true", help="seq2seq on generated sentence pairs")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to measure (--pairs)")
    args = parser.parse_args()
    if args.pairs:
        main_pairs(args.sizes, args.work, args.src)
        return
    rows = [run_size(size, args.work) for size in args.sizes]
    print(
        "\nPrepare: train + val + test (test is the 1 MB val file) in the preparing process, imports excluded."
    )
    print(
        f"\nMachine: {os.cpu_count()} CPU cores, {platform.python_version()}, char tokenizer, default textgen model\n"
    )
    print(
        "| text | prepare (in process) | MB/s | prepare peak RSS (anon at end) | store | 2nd run: start -> 1st step | train peak RSS | at end: anon / file-backed RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['MB']:,} MB | {r['prepare_s']:.1f} s | {r['prepare_mb_s']:.0f} | {r['prepare_peak_mb']:,} MB ({r['prepare_anon_mb']:,} MB) "
            f"| {r['store_mb']:,.0f} MB | {r['first_step_s']:.1f} s | {r['train_peak_mb']:,} MB "
            f"| {r['rss_anon_mb']:,.0f} / {r['rss_file_mb']:,.0f} MB |"
        )


if __name__ == "__main__":
    main()
