"""Tries to kill its parent, PID 1 and its process group."""

import contextlib
import os
import signal

for pid in (os.getppid(), 1, 0):
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
