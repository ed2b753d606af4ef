"""Plain functions shared by the tests (fixtures stay in ``tests/conftest.py``).

``helpers.config`` composes configs, ``helpers.running`` runs commands in-process or in a child
process, ``helpers.fixture_data`` writes what no one app owns, ``helpers.tiny`` finds each app's
tiny setup (in its package: the overrides that train it in seconds, the predict options, a server
request and its playground form) and ``helpers.serving`` serves a checkpoint and drives a browser.
"""
