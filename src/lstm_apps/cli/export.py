"""``lstm-apps export ckpt_path=… format=onnx|torchscript``: inference graphs, checked against PyTorch."""

from lstm_apps.cli.entry import hydra_command

main = hydra_command("export", "lstm_apps.pipeline.export:export")

if __name__ == "__main__":
    main()
