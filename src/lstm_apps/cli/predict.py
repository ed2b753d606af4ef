"""``lstm-apps predict ckpt_path=… [app options]``: run a trained app on new input."""

from lstm_apps.cli.entry import hydra_command
from lstm_apps.pipeline.predict import predict

main = hydra_command("predict", predict)

if __name__ == "__main__":
    main()
