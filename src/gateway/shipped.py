"""The data folders shipped with the gateway (`schemas/`, `migrations/`): at the top of the
repository in a source checkout (and an editable install), inside the `gateway` package of an
installed wheel (hatchling force-includes them there, see pyproject.toml). Imports nothing from
the rest of the gateway, so any floor may use it."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent  # src/gateway -> the repository root

# a file each folder must hold, so a stray directory (e.g. one left with only __pycache__)
# is never taken for it
_MARKERS = {"schemas": "document.xsd", "migrations": "env.py"}


def shipped(name: str) -> Path:
    """The folder `name` ("schemas" or "migrations") of this installation."""
    marker = _MARKERS[name]
    for base in (_PACKAGE, _CHECKOUT):
        folder = base / name
        if (folder / marker).is_file():
            return folder
    raise FileNotFoundError(
        f"the gateway's {name}/ folder is missing (looked in {_PACKAGE} and {_CHECKOUT})"
    )
