"""Exits the process with status 0, skipping all cleanup, as the module loads."""

import os


def _attack():
    os._exit(0)


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
