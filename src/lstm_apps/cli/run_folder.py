"""A Hydra callback that makes the run directory before Hydra does, so a folder that cannot be
created is one ``lstm-apps: error:`` line instead of Hydra's traceback."""

from __future__ import annotations

import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from lstm_apps.errors import UserError
from lstm_apps.folders import output_folder


def _make(config: DictConfig, key: str) -> None:
    # Resolved once and pinned: the name may hold a clock (``${now:}``), and Hydra must create
    # and use the very folder checked here.
    folder = str(OmegaConf.select(config, key))
    try:
        output_folder(folder, key)
    except UserError as err:
        print(f"lstm-apps: error: {err}", file=sys.stderr, flush=True)
        sys.exit(2)
    with read_write(config.hydra):
        OmegaConf.update(config, key, folder)


class RunFolderCheck(Callback):
    """``hydra.run.dir`` for a run, ``hydra.sweep.dir`` for a ``-m`` sweep."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _make(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _make(config, "hydra.sweep.dir")
