"""Expected faults: a user can act on them, so they end a stage with one clear line."""


class UserError(Exception):
    """A fault caused by input, environment or configuration, not by a bug.

    Stages print its message on one line and exit with status 2 instead of a traceback.
    """


class ParamsError(UserError):
    """params.yaml has an unknown key, a wrong type or an out-of-range value."""
