"""Prepare a public data set for the classifier: the same as ``lstm-apps prepare classifier DATASET``.

    python apps/classifier/prepare_data.py sst2|imdb [--out-dir data/classifier] [--base-url URL]

The preparation itself lives in the package (``lstm_apps.apps.classifier.prepare``), so it also works
from an installed wheel; this script keeps the command that works from a checkout.
"""

from __future__ import annotations

import sys

from lstm_apps.apps.classifier.prepare import DATASETS, prepare
from lstm_apps.apps.preparation import default_out_dir
from lstm_apps.data.download import prepare_main


def main(argv: list[str] | None = None) -> int:
    return prepare_main(__doc__, list(DATASETS), prepare, default_out_dir("classifier"), argv)


if __name__ == "__main__":
    sys.exit(main())
