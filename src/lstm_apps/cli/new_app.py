"""``lstm-apps new-app NAME --from APP [--dir DIR]``: a new app, written as a working copy of one.

Without ``--dir`` it is written into this checkout (found by its folder: only new files appear);
with ``--dir`` as a project of the user's own, installable with ``pip install -e DIR`` and run
with ``--config-dir DIR/conf``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from lstm_apps.apps.scaffold import into_project, into_repository
from lstm_apps.errors import UserError
from lstm_apps.paths import config_dir
from lstm_apps.registry import apps

USAGE = "lstm-apps new-app NAME --from APP [--dir DIR]"


def _fail(message: str) -> NoReturn:
    print(f"lstm-apps: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (usage: {USAGE})")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="lstm-apps new-app",
        usage=USAGE,
        description="Write a new app as a working copy of an existing one: package, configs, guide, test.",
        epilog=f"apps to start from: {', '.join(apps())}; the guide: docs/adding-an-app.md",
    )
    parser.add_argument("name", help="the new app's name (a Python package name; app=NAME)")
    parser.add_argument("--from", dest="source", required=True, metavar="APP", help="the app to start from")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="write it as a project of its own in this (new or empty) folder",
    )
    return parser


def checkout_root() -> Path:
    """The checkout this ``lstm-apps`` runs from, or one line saying to use ``--dir``."""
    root = config_dir().parent
    if not (root / "src" / "lstm_apps" / "apps").is_dir() or not (root / "pyproject.toml").is_file():
        raise UserError(
            "lstm-apps is installed, not a checkout: write the app as your own project with --dir DIR"
        )
    return root


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.dir is None:
            written = into_repository(args.name, args.source, checkout_root())
            next_steps = [f"make train APP={args.name}", f".venv/bin/pytest -k {args.name}"]
        else:
            written = into_project(args.name, args.source, args.dir.resolve())
            next_steps = [
                f"pip install -e {args.dir}",
                f"lstm-apps train --config-dir {args.dir / 'conf'} app={args.name}",
                f"cd {args.dir} && pytest",
            ]
    except UserError as err:
        _fail(str(err))
    print(f"new app '{args.name}' (from {args.source}):")
    for path in written.all():
        print(f"  {path}{'/' if path.is_dir() else ''}")
    print("next: " + "; ".join(next_steps))


if __name__ == "__main__":
    main()
