"""``lstm-apps prepare APP DATASET``: fetch and arrange a public data set where the app's recipes read it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from lstm_apps.apps.preparation import app_names, catalogue, default_out_dir, preparation
from lstm_apps.errors import UserError
from lstm_apps.folders import output_folder

USAGE = "lstm-apps prepare APP DATASET [--base-url URL] [--out-dir DIR]"


def _fail(message: str) -> NoReturn:
    print(f"lstm-apps: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def available() -> str:
    """Every app and its data sets on one line: ``captioner: coco, flickr8k; classifier: …``."""
    return "; ".join(f"{app}: {', '.join(sorted(names))}" for app, names in catalogue().items())


def _help_text() -> str:
    lines = ["apps and their data sets:"]
    for app, names in catalogue().items():
        lines += [f"  {app}"] + [f"    {name:<16} {text}" for name, text in names.items()]
    lines += ["", "the recipes (lstm-apps train experiment=…) read what this writes under data/<app>/"]
    return "\n".join(lines)


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one ``lstm-apps: error:`` line like every other command's."""

    def error(self, message: str) -> NoReturn:
        _fail(message)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="lstm-apps prepare",
        usage=USAGE,
        description="Download (or copy from --base-url) a public data set and arrange it for an app.",
        epilog=_help_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("app", nargs="?", help="the app the data is for")
    parser.add_argument("dataset", nargs="?", help="the data set's name")
    parser.add_argument(
        "--base-url", metavar="URL", default=None, help="a mirror, or a file:// folder holding the same files"
    )
    parser.add_argument(
        "--out-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help="where to write (default: $LSTM_APPS_ROOT/data/<app> or data/<app>)",
    )
    return parser


def _describe(path: Path) -> str:
    return f"{path}/" if path.is_dir() else f"{path} ({path.stat().st_size:,} bytes)"


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.app is None:
        _fail(f"name an app and a data set: {USAGE} (available: {available()})")
    module = preparation(args.app)
    if module is None:
        what = "no data to prepare for" if args.app in app_names() else "unknown"
        _fail(f"{what} app '{args.app}' (available: {available()})")
    if args.dataset not in module.DATASETS:
        what = "name a data set" if args.dataset is None else f"unknown data set '{args.dataset}'"
        _fail(f"{what} for {args.app} (available: {', '.join(sorted(module.DATASETS))})")
    out_dir = args.out_dir if args.out_dir is not None else default_out_dir(args.app)
    try:
        output_folder(out_dir, "--out-dir")
        written = module.prepare(args.dataset, out_dir, args.base_url)
    except UserError as err:
        _fail(str(err))
    for label, path in sorted(written.items()):
        print(f"{label}: {_describe(path)}")


if __name__ == "__main__":
    main()
