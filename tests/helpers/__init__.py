"""Plain functions shared by the tests (fixtures stay in ``tests/conftest.py``).

``helpers.config`` composes configs, ``helpers.running`` runs commands in-process or in a child
process, ``helpers.fixture_data`` writes tiny data sets and ``helpers.tiny`` holds ``TINY``: one
entry per app with the overrides that train it in seconds and the predict options that use it.
"""
