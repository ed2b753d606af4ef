"""Prepare a public data set for the captioner: the same as ``lstm-apps prepare captioner DATASET``.

    python apps/captioner/prepare_data.py flickr8k|coco [--out-dir data/captioner] [--base-url URL]

The preparation itself lives in the package (``lstm_apps.apps.captioner.prepare``), so it also works
from an installed wheel; this script keeps the command that works from a checkout.
"""

from __future__ import annotations

import sys

from lstm_apps.apps.captioner.prepare import DATASETS, prepare
from lstm_apps.apps.preparation import default_out_dir
from lstm_apps.data.download import prepare_main


def main(argv: list[str] | None = None) -> int:
    return prepare_main(__doc__, list(DATASETS), prepare, default_out_dir("captioner"), argv)


if __name__ == "__main__":
    sys.exit(main())
