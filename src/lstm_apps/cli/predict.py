"""``lstm-apps predict ckpt_path=… [app options]``: run a trained app on new input."""

from lstm_apps.cli.entry import hydra_command

main = hydra_command("predict", "lstm_apps.pipeline.predict:predict")

if __name__ == "__main__":
    main()
