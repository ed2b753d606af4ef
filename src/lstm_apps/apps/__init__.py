"""The six apps, one package each: ``network.py`` (the plain ``nn.Module``: layers and tensor-level
inference, built and exported without Lightning), ``datamodule.py`` (data, vocabularies and the
``handoff`` to the model), ``model.py`` (the LightningModule holding the network as ``self.net``:
loss, metrics, logging, optimisation, export graphs) and ``predictor.py`` (``lstm-apps predict``:
the app's typed options, whose defaults are ``configs/predict/<app>.yaml``, reading the inputs,
batching them and formatting the answer; registered as the app's entry point), with whatever
else only that app reads or computes."""
