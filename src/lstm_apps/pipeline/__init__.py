"""What the apps share: training, evaluation, export and prediction from self-contained
checkpoints. ``predictor.py`` holds the prediction machinery every app's predictor uses (options
checked against the app's dataclass, ``trainer.predict`` over ready-made batches, ``output_file``);
``predict.py`` runs the predictor of the checkpoint's app."""
