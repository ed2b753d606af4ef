"""The ``lstm-apps`` console script: ``lstm-apps {train,eval,predict,inspect,export} [hydra overrides]``,
``lstm-apps serve ckpt_path=…``, ``lstm-apps prepare APP DATASET``, ``lstm-apps new-app NAME --from APP``."""

from __future__ import annotations

import importlib
import importlib.util
import sys

from lstm_apps.paths import available_apps

COMMANDS = {
    "train": ("lstm_apps.cli.train", "train an app: lstm-apps train app=textgen trainer.max_epochs=3"),
    "eval": ("lstm_apps.cli.evaluate", "score a checkpoint: lstm-apps eval ckpt_path=runs/…/last.ckpt"),
    "predict": ("lstm_apps.cli.predict", "use a checkpoint: lstm-apps predict ckpt_path=… prompt='The'"),
    "inspect": (
        "lstm_apps.cli.inspect",
        "cells over an input: lstm-apps inspect ckpt_path=… input=@file.txt find=true",
    ),
    "export": ("lstm_apps.cli.export", "ONNX/TorchScript graphs: lstm-apps export ckpt_path=… format=onnx"),
    "serve": ("lstm_apps.cli.serve", "HTTP server + playground: lstm-apps serve ckpt_path=… serve.port=8000"),
    "prepare": ("lstm_apps.cli.prepare", "fetch a public data set: lstm-apps prepare seq2seq multi30k"),
    "new-app": (
        "lstm_apps.cli.new_app",
        "a new app copied from one: lstm-apps new-app mine --from classifier",
    ),
}


def usage() -> str:
    lines = ["usage: lstm-apps COMMAND [key=value ...] [hydra flags]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in COMMANDS.items()]
    lines += [
        "",
        f"apps: {', '.join(available_apps())}",
        "each command takes --help; train, eval, predict, export and serve also --cfg job like any Hydra app",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        sys.exit(0 if args else 2)
    command = args[0]
    if command not in COMMANDS:
        print(
            f"lstm-apps: error: unknown command '{command}' (available: {', '.join(COMMANDS)})",
            file=sys.stderr,
        )
        sys.exit(2)
    module_name = COMMANDS[command][0]
    module = importlib.import_module(module_name)
    # Lightning starts DDP workers by re-running this process's command line: as
    # `python <argv[0]> argv[1:]`, or `python -m <__main__.__spec__.name> argv[1:]` under -m. Point
    # both at the subcommand's own module so that workers run the same command.
    sys.argv = [module.__file__ or command, *args[1:]]
    main_module = sys.modules.get("__main__")
    if main_module is not None and getattr(main_module, "__spec__", None) is not None:
        main_module.__spec__ = importlib.util.find_spec(module_name)
    module.main()


if __name__ == "__main__":
    main()
