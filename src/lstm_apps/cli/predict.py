"""``lstm-apps predict ckpt_path=… [app options]``: run a trained app on new input.

Which options exist depends on the app, which only the checkpoint knows: the command reads it
from ``ckpt_path`` first, checks the options against that app's and selects
``configs/predict/<app>.yaml`` (``predict=<app>``) before Hydra composes the config.
"""

from __future__ import annotations

import sys
from typing import Any

from lstm_apps.cli.entry import fail, hydra_command
from lstm_apps.errors import UserError

_run = hydra_command("predict", "lstm_apps.pipeline.predict:predict")


def with_app_options(args: list[str], own_keys: tuple[str, ...] = ()) -> list[str]:
    """``args`` plus ``predict=<the checkpoint's app>``, after checking that every option given
    belongs to that app (or is one of the command's ``own_keys``). Unchanged when there is no
    single ``ckpt_path`` or ``predict=`` is given."""
    values = {}
    for arg in args:
        if arg.startswith("-") or "=" not in arg:
            continue
        key, _, value = arg.partition("=")
        values[key.lstrip("+")] = value
    path = values.get("ckpt_path")
    if not path or "," in path or "predict" in values:
        return args
    from lstm_apps.pipeline.checkpoint import read_checkpoint
    from lstm_apps.pipeline.predictor import check_option_names

    expected = values.get("expected_app")
    app = read_checkpoint(path, expected_app=None if expected in (None, "", "null") else expected).app
    check_option_names(
        app, [key for key in values if not key.startswith(("hydra.", "~")) and key not in own_keys]
    )
    flags, overrides = split_flags(args)
    return [*flags, f"predict={app}", *overrides]  # Hydra's flags, then the overrides together


# Hydra's flags that take a value (``--config-dir conf``): the value is part of the flag.
VALUE_FLAGS = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name"}
VALUE_FLAGS |= {"-cd", "--config-dir", "--experimental-rerun", "-i", "--info"}


def split_flags(args: list[str]) -> tuple[list[str], list[str]]:
    """``args`` as (Hydra's flags with their values, the overrides): argparse takes the overrides
    only as one run of arguments, so they must not be split by a flag."""
    flags: list[str] = []
    overrides: list[str] = []
    for arg in args:
        if arg.startswith("-") or (flags and flags[-1] in VALUE_FLAGS and "=" not in arg):
            flags.append(arg)
        else:
            overrides.append(arg)
    return flags, overrides


def main() -> Any:
    try:
        sys.argv[1:] = with_app_options(sys.argv[1:])
    except UserError as err:
        fail(err)
    return _run()


if __name__ == "__main__":
    main()
