"""``lstm-apps serve``: any checkpoint behind HTTP on LitServe, with a playground page at ``/``.

``settings.py`` owns the ``serve.*`` keys; ``api.py`` is the shared LitAPI every app's endpoint
builds on (the app's own predictor does the work); ``server.py`` assembles the LitServer, its extra
routes and the SIGTERM drain; ``playground/`` holds the page's shared HTML, CSS and JavaScript, and
each app's form is ``apps/<app>/playground.js``.
"""
