"""lstm-apps: one fast recurrent core, many sequence applications."""

__version__ = "0.1.0"
