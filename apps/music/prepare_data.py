"""Prepare a public data set for the music: the same as ``lstm-apps prepare music DATASET``.

    python apps/music/prepare_data.py jsb_chorales [--out-dir data/music] [--base-url URL]

The preparation itself lives in the package (``lstm_apps.apps.music.prepare``), so it also works
from an installed wheel; this script keeps the command that works from a checkout.
"""

from __future__ import annotations

import sys

from lstm_apps.apps.music.prepare import DATASETS, prepare
from lstm_apps.apps.preparation import default_out_dir
from lstm_apps.data.download import prepare_main


def main(argv: list[str] | None = None) -> int:
    return prepare_main(__doc__, list(DATASETS), prepare, default_out_dir("music"), argv)


if __name__ == "__main__":
    sys.exit(main())
