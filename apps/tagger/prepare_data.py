"""Prepare a public data set for the tagger: the same as ``lstm-apps prepare tagger DATASET``.

    python apps/tagger/prepare_data.py conll2003|conll2002_es|conll2002_nl [--out-dir data/tagger] [--base-url URL]

The preparation itself lives in the package (``lstm_apps.apps.tagger.prepare``), so it also works
from an installed wheel; this script keeps the command that works from a checkout.
"""

from __future__ import annotations

import sys

from lstm_apps.apps.preparation import default_out_dir
from lstm_apps.apps.tagger.prepare import DATASETS, prepare
from lstm_apps.data.download import prepare_main


def main(argv: list[str] | None = None) -> int:
    return prepare_main(__doc__, list(DATASETS), prepare, default_out_dir("tagger"), argv)


if __name__ == "__main__":
    sys.exit(main())
