"""Fetching public data sets when online: plain urllib, atomic writes, clear failures."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lstm_apps.errors import UserError
from lstm_apps.folders import output_folder


def fetch(url: str, destination: Path, timeout: float = 60.0) -> Path:
    """Download ``url`` (``http(s)://`` or ``file://``) to ``destination`` atomically.

    A partial download never replaces a good file: bytes go to a temporary name first.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as err:
        partial.unlink(missing_ok=True)
        reason = getattr(err, "reason", err)
        raise UserError(f"could not download {url}: {reason}") from None
    if partial.stat().st_size == 0:
        partial.unlink()
        raise UserError(f"downloaded an empty file from {url}")
    os.replace(partial, destination)
    return destination


def split_lines(text: str, val_fraction: float, test_fraction: float) -> dict[str, str]:
    """Contiguous train/val/test split on line boundaries (no shuffling: text is a stream)."""
    lines = text.splitlines(keepends=True)
    n_test = max(1, int(len(lines) * test_fraction))
    n_val = max(1, int(len(lines) * val_fraction))
    n_train = len(lines) - n_val - n_test
    if n_train < 1:
        raise UserError(f"{len(lines)} lines are too few to split into train/val/test")
    return {
        "train": "".join(lines[:n_train]),
        "val": "".join(lines[n_train : n_train + n_val]),
        "test": "".join(lines[n_train + n_val :]),
    }


def prepare_main(
    doc: str,
    corpora: list[str],
    prepare: Callable[[str, Path, str | None], dict[str, Path]],
    default_out: Path,
    argv: list[str] | None = None,
) -> int:
    """The command line every ``apps/<app>/prepare_data.py`` shares: corpus name, --out-dir, --base-url."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", choices=sorted(corpora))
    parser.add_argument(
        "--out-dir",
        "--out",  # the older spelling
        dest="out_dir",
        type=Path,
        default=default_out,
        help=f"output folder (default {default_out})",
    )
    parser.add_argument(
        "--base-url", default=None, help="mirror (or file:// folder) holding the same file names"
    )
    args = parser.parse_args(argv)
    try:
        output_folder(args.out_dir, "--out-dir")
        written = prepare(args.corpus, args.out_dir, args.base_url)
    except UserError as err:
        print(f"prepare_data: error: {err}", file=sys.stderr)
        return 2
    for name, path in sorted(written.items()):
        print(f"{name}: {path} ({path.stat().st_size:,} bytes)")
    return 0
