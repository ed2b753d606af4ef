"""Prepare a public data set for the textgen: the same as ``lstm-apps prepare textgen DATASET``.

    python apps/textgen/prepare_data.py tinyshakespeare|wikitext2 [--out-dir data/textgen] [--base-url URL]

The preparation itself lives in the package (``lstm_apps.apps.textgen.prepare``), so it also works
from an installed wheel; this script keeps the command that works from a checkout.
"""

from __future__ import annotations

import sys

from lstm_apps.apps.preparation import default_out_dir
from lstm_apps.apps.textgen.prepare import DATASETS, prepare
from lstm_apps.data.download import prepare_main


def main(argv: list[str] | None = None) -> int:
    return prepare_main(__doc__, list(DATASETS), prepare, default_out_dir("textgen"), argv)


if __name__ == "__main__":
    sys.exit(main())
