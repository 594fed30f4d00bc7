"""A system-call filter for the sandboxed run: no UNIX sockets except connected pairs.

The network namespace takes away TCP and UDP, but a pathname UNIX socket is reached through the
filesystem, not the network: a host service listening on one (PostgreSQL's world-writable
`/var/run/postgresql/.s.PGSQL.5432`, a Docker or X11 socket) stays reachable through any path the
mount namespace leaves visible, and Landlock (before ABI 9) does not control `connect()` on one.
Seccomp cannot read the address `connect()` is given, so the filter removes the means instead:

- `socket(AF_UNIX, ...)` fails with EACCES: no UNIX socket can be made to connect or send anywhere.
- `socketpair(AF_UNIX, SOCK_DGRAM)` fails too: a datagram pair may `sendto()` any socket path.
  Stream and seqpacket pairs (multiprocessing pipes, asyncio) keep working; they ignore addresses.
- `io_uring_*` fail with ENOSYS: io_uring can create and connect sockets without those calls.
- `keyctl`, `add_key`, `request_key` fail: a run under the grader's own user id (a non-root TA)
  would otherwise reach that user's kernel keyrings.
- `memfd_create` fails where no memory cgroup counts its pages (`deny_memfd`): a memfd filled with
  `write()` is never mapped, so RLIMIT_AS does not see it.

Built with libseccomp (through the `pyseccomp` ctypes binding), which also rejects system calls of
other ABIs (32-bit `int 0x80`, x32), the classic way around a hand-written filter.
Standard library only apart from `pyseccomp`: the launcher (`python -I -S launcher.py`) imports it
from the site-packages folders the sandbox is given (see `load_pyseccomp`).
"""

from __future__ import annotations

import errno
import importlib
import os
import socket
import sys
from collections.abc import Sequence
from types import ModuleType

_SOCK_TYPE_MASK = 0xF  # SOCK_NONBLOCK and SOCK_CLOEXEC are flags above the type
_DENIED = {
    "io_uring_setup": errno.ENOSYS,
    "io_uring_enter": errno.ENOSYS,
    "io_uring_register": errno.ENOSYS,
    "keyctl": errno.ENOSYS,
    "add_key": errno.ENOSYS,
    "request_key": errno.ENOSYS,
}


def load_pyseccomp(site_dirs: Sequence[str]) -> ModuleType:
    """Import `pyseccomp` for a launcher started with `-I -S` (no site-packages on sys.path).

    Raises ImportError when it is not installed, OSError when libseccomp.so.2 is missing."""
    for directory in site_dirs:
        if os.path.isfile(os.path.join(directory, "pyseccomp.py")):
            sys.path.append(directory)
            break
    return importlib.import_module("pyseccomp")


def build_filter(seccomp: ModuleType, deny_memfd: bool):
    """The filter described in the module docstring (a `pyseccomp.SyscallFilter`, not loaded)."""
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    denied = seccomp.ERRNO(errno.EACCES)
    rules.add_rule(denied, "socket", seccomp.Arg(0, seccomp.EQ, socket.AF_UNIX))
    rules.add_rule(
        denied,
        "socketpair",
        seccomp.Arg(1, seccomp.MASKED_EQ, _SOCK_TYPE_MASK, socket.SOCK_DGRAM),
    )
    for name, code in _DENIED.items():
        rules.add_rule(seccomp.ERRNO(code), name)
    if deny_memfd:
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "memfd_create")
    return rules
