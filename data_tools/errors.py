"""The data tools' domain exception: a message for a person, caught by the CLI handler."""

from facekit.base.errors import SetupError


class DataToolsError(SetupError):
    """Usage or setup the user can fix: paths, options, source images (exit 2)."""


def require(ok: bool, option: str, expected: str, received: object) -> None:
    """Raise a `DataToolsError` naming `option`, the `expected` and the `received` value."""
    if not ok:
        raise DataToolsError(f"{option} must be {expected}; got {received!r}")
