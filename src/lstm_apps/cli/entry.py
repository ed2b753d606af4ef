"""Turns a ``task(cfg)`` function into a Hydra command line with one-line errors."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import hydra
from omegaconf import DictConfig

from lstm_apps.cli.preflight import check_overrides, check_values
from lstm_apps.cli.quiet import quiet_console, route_library_logs_through_root
from lstm_apps.errors import UserError
from lstm_apps.paths import config_dir
from lstm_apps.pipeline.run_name import register as register_run_name

register_run_name()  # also where a launcher unpickles the task in a fresh process


def fail(message: str | BaseException) -> NoReturn:
    """One line on stderr and exit code 2 (a mistake in the command), or the error's own
    ``exit_code`` (a server that stopped itself: 3)."""
    print(f"lstm-apps: error: {message}", file=sys.stderr, flush=True)
    sys.exit(getattr(message, "exit_code", 2))


def _load_task(target: str) -> Callable[[DictConfig], Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def hydra_command(config_name: str, task: str) -> Callable[[], Any]:
    """Build ``main()`` for ``task`` (``"module:function"``): check overrides, then run ``hydra.main``.

    Checking first means a typo'd key or an unknown app costs one line and no half-made run
    directory, while everything Hydra offers (``-m`` sweeps, ``--cfg``, launchers) stays. The task
    is imported only when it runs, so such mistakes are also reported before torch is loaded.
    """

    @hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=config_name)
    def run(cfg: DictConfig) -> Any:
        try:
            check_values(config_name, cfg)  # again here: each job of a -m sweep arrives only here
            function = _load_task(task)
            route_library_logs_through_root()
            return function(cfg)
        except UserError as err:
            fail(err)

    def main() -> Any:
        quiet_console()
        register_run_name()
        try:
            check_overrides(config_name, sys.argv[1:])
        except UserError as err:
            fail(err)
        return run()

    return main
