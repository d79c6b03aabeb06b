"""Expected faults: a user can act on them, so they end a stage with one clear line."""


class UserError(Exception):
    """A fault caused by input, environment or configuration, not by a bug.

    Stages print its message on one line and exit with status 2 instead of a traceback.
    """


class ParamsError(UserError):
    """params.yaml has an unknown key, a wrong type or an out-of-range value."""


def missing_package_message(package: str, python: str) -> str:
    """What to say when the interpreter running the project lacks a package it needs."""
    return (
        f"{package} is not installed for {python}: activate the project's environment first "
        "(source .venv/bin/activate) or install it there (pip install -r requirements.txt)"
    )
