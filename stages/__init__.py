"""DVC stage entry points: ``python -m stages.<name>`` from the project root (see dvc.yaml).

DVC runs each stage with whichever ``python`` comes first on the PATH. When that is not
the project's environment (the venv was not activated), say so in one line instead of
letting the first missing import end in a traceback.
"""

import sys

try:
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import yaml  # noqa: F401
except ModuleNotFoundError as _missing:
    from fmagenre.infra.errors import missing_package_message

    sys.exit(f"[stages] error: {missing_package_message(str(_missing.name), sys.executable)}")
