"""Prepare a public data set for the seq2seq: the same as ``lstm-apps prepare seq2seq DATASET``.

    python apps/seq2seq/prepare_data.py multi30k [--out-dir data/seq2seq] [--base-url URL]

The preparation itself lives in the package (``lstm_apps.apps.seq2seq.prepare``), so it also works
from an installed wheel; this script keeps the command that works from a checkout.
"""

from __future__ import annotations

import sys

from lstm_apps.apps.preparation import default_out_dir
from lstm_apps.apps.seq2seq.prepare import DATASETS, prepare
from lstm_apps.data.download import prepare_main


def main(argv: list[str] | None = None) -> int:
    return prepare_main(__doc__, list(DATASETS), prepare, default_out_dir("seq2seq"), argv)


if __name__ == "__main__":
    sys.exit(main())
