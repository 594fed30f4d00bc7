"""Exits with status 0 as soon as the module loads."""

import sys


def _attack():
    sys.exit(0)


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
