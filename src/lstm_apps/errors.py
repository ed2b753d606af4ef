"""The one error type users see: a single line that names the file, line or key at fault."""


class UserError(Exception):
    """A problem with the user's input or configuration, reported as one line, no traceback."""
