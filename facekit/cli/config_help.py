"""The --help of commands that read a config file: its keys, types, defaults and help."""

import argparse

from facekit.base.tables import describe_keys


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, and the epilog's one-key-per-line list kept as written."""


def course_epilog(schema: type, option: str) -> str:
    """An epilog listing the course-file tables a command reads (`schema`'s fields)."""
    return (
        f"course file tables read from {option} (other tools' tables are ignored; an unknown "
        f"key is an error):\n{describe_keys(schema)}"
    )
