"""The judge's own work in this process takes turns: one notebook at a time.

`facekit grade --jobs N` grades N notebooks at once on threads of one process. Their sandboxed
workers run side by side, but the judge's in-process work (parsing the notebook, running the
reference, comparing the answers) runs under `judging()`, for two process-wide reasons:

- torch's random generator and thread count are shared by every thread, and the reference's
  answers depend on the generator's state;
- CPython 3.11's `ast.parse` keeps its recursion depth in interpreter-wide state, which parses
  on two threads corrupt ("AST constructor recursion depth mismatch", after which every parse in
  the process fails: gh-106905).
"""

import contextlib
import threading
from collections.abc import Iterator

import torch

_TURN = threading.RLock()


@contextlib.contextmanager
def judging() -> Iterator[None]:
    """This thread's turn at the judge's in-process work, with torch on one thread: the judge's
    tensors are tiny, and a second thread only adds OpenMP spin-waiting, many times the CPU
    time of the work on a busy machine (see judge_worker)."""
    with _TURN:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
