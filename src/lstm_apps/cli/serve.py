"""``lstm-apps serve ckpt_path=… [serve.port=8000 …]``: the checkpoint's app over HTTP."""

from lstm_apps.cli.entry import hydra_command

main = hydra_command("serve", "lstm_apps.serving.command:serve")

if __name__ == "__main__":
    main()
