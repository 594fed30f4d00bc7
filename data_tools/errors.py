"""The data tools' domain exception: a message for a person, caught by the CLI handler."""


class DataToolsError(Exception):
    """A problem with the user's input (paths, options, source images) that they can fix."""


def require(ok: bool, option: str, expected: str, received: object) -> None:
    """Raise a `DataToolsError` naming `option`, the `expected` and the `received` value."""
    if not ok:
        raise DataToolsError(f"{option} must be {expected}; got {received!r}")
