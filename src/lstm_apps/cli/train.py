"""``lstm-apps train``: compose ``configs/train.yaml`` and train (also ``python -m lstm_apps.cli.train``)."""

from lstm_apps.cli.entry import hydra_command

main = hydra_command("train", "lstm_apps.pipeline.train:train")

if __name__ == "__main__":
    main()
