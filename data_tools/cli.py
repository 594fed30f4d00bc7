"""Placeholder: this command group is being built."""

import argparse


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add this group's commands (none yet)."""
