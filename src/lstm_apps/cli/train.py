"""``lstm-apps train``: compose ``configs/train.yaml`` and train (also ``python -m lstm_apps.cli.train``)."""

from lstm_apps.cli.entry import hydra_command
from lstm_apps.pipeline.train import train

main = hydra_command("train", train)

if __name__ == "__main__":
    main()
