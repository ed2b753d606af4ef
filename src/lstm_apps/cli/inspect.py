"""``lstm-apps inspect ckpt_path=… input=… [layer=… cells=… find=true]``: the cells of a trained
model over one input (docs/inspecting.md). As with ``predict``, the checkpoint says which app's
options exist; they are checked, and ``configs/predict/<app>.yaml`` selected, before Hydra composes."""

from __future__ import annotations

import sys
from typing import Any

from lstm_apps.cli.entry import fail, hydra_command
from lstm_apps.cli.predict import with_app_options
from lstm_apps.config_ranges.declared import INSPECT
from lstm_apps.errors import UserError

_run = hydra_command("inspect", "lstm_apps.pipeline.inspect:inspect")


def main() -> Any:
    try:
        sys.argv[1:] = with_app_options(sys.argv[1:], own_keys=(*INSPECT, "input"))
    except UserError as err:
        fail(err)
    return _run()


if __name__ == "__main__":
    main()
