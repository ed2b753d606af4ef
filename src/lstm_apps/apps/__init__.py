"""The apps, one package each, found by their folders (``lstm_apps.registry``): ``__init__.py``
declares the app (``APP``: its name, predictor, endpoints, tiny test setup, benchmark settings,
results recipes), ``network.py`` is the plain ``nn.Module`` (layers and tensor-level inference,
built and exported without Lightning), ``datamodule.py`` the data, vocabularies and the
``handoff`` to the model, ``model.py`` the LightningModule holding the network as ``self.net``
(loss, metrics, logging, optimisation, export graphs), ``predictor.py`` its ``lstm-apps predict``
(typed options whose defaults are ``configs/predict/<app>.yaml``), ``serving.py`` and
``playground.js`` its ``lstm-apps serve`` endpoints and form, ``tiny.py`` its data for the tests,
with whatever else only that app reads or computes. ``scaffold.py`` writes a new one
(``lstm-apps new-app``)."""
