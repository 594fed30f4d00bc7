"""After the worker answers (atexit), rewrites the records with fields of the wrong types: an
index that is True, an error that is a list, a message that is an object, a status that is a
list, details that are a string, and cell errors that are not objects."""

import atexit
import contextlib
import glob
import json


def _attack():
    global BROKEN
    BROKEN = (
        {"index": True, "status": "ok"},
        {"status": "error", "error": ["TypeError", "boom"]},
        {"status": "timeout", "message": {"text": "x" * 10}},
        {"status": ["ok"]},
        {"status": "state_mismatch", "details": "everything"},
        {"status": "ok", "facts": {"params_without_grad": "all"}},
        {"status": "error", "error": {"type": None, "message": 3, "frames": [1, 2]}},
    )


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()


def swap():
    for number, path in enumerate(sorted(glob.glob("result_*.json"))):
        index = int(path[len("result_") : -len(".json")])
        record = {"protocol": 2, "index": index, **BROKEN[number % len(BROKEN)]}
        with contextlib.suppress(OSError), open(path, "w") as handle:
            json.dump(record, handle)
    with contextlib.suppress(OSError), open("load_0.json", "w") as handle:
        errors = [["cell 1", "X"], {"cell": 5, "type": [], "message": {}}]
        json.dump({"cell_errors": errors}, handle)


def _attack1():
    atexit.register(swap)


class _Armed1:  # top-level statements are skipped by the grader; a class body runs
    _attack1()
