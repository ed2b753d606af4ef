"""Prepare a public data set for the speech recogniser: the same as ``lstm-apps prepare asr DATASET``.

    python apps/asr/prepare_data.py librispeech_100 [--out-dir data/asr] [--base-url URL]

The preparation itself lives in the package (``lstm_apps.apps.asr.prepare``), so it also works
from an installed wheel; this script keeps the command that works from a checkout.
"""

from __future__ import annotations

import sys

from lstm_apps.apps.asr.prepare import DATASETS, prepare
from lstm_apps.apps.preparation import default_out_dir
from lstm_apps.data.download import prepare_main


def main(argv: list[str] | None = None) -> int:
    return prepare_main(__doc__, list(DATASETS), prepare, default_out_dir("asr"), argv)


if __name__ == "__main__":
    sys.exit(main())
