"""The six apps, one package each: ``datamodule.py`` (data, vocabularies and the ``handoff`` to the
model), ``model.py`` (the LightningModule: network, training, evaluation, export graphs and
tensor-level inference such as ``predict_step``) and ``predictor.py`` (``lstm-apps predict``: the
app's typed options, whose defaults are ``configs/predict/<app>.yaml``, reading the inputs,
batching them and formatting the answer; chosen by the checkpoint's app name)."""
