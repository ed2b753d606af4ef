"""``lstm-apps eval ckpt_path=…``: metrics of a checkpoint on its test (or val) split."""

from lstm_apps.cli.entry import hydra_command

main = hydra_command("eval", "lstm_apps.pipeline.evaluate:evaluate")

if __name__ == "__main__":
    main()
