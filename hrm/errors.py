"""User-facing errors: the CLI prints their message (which names the file, field or value and
what to do) without a traceback, and exits with status 2."""


class UserError(Exception):
    """A mistake in the user's input or environment, not a bug in hrm."""
