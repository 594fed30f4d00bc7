"""Reading what untrusted code (a sandboxed student run) left behind, trusting none of it.

A sandboxed run can leave anything in its working directory: a symlink to `/dev/zero`, to the
grader's stdin or to a host file, a FIFO that blocks the reader forever, a file that grows while it
is read, a directory tree 100,000 levels deep, JSON nested a million times. The trusted side reads
such a directory only through this module:

- `read_untrusted_bytes(root, relative, max_bytes)`: a regular file beneath `root`, reached without
  following any link (every component opened with `O_NOFOLLOW` relative to its parent), opened
  non-blocking (a FIFO cannot hang the reader), checked with `fstat` before a single byte is read,
  and never more than `max_bytes`.
- `load_untrusted_json(...)`: the same, then JSON parsed with a bound on nesting.
- `remove_untrusted_tree(path)`: deletes such a directory at any depth, never following a link.

Every refusal raises `UntrustedFileError` with a sentence for a person; callers turn it into the
student's zero (the student's output was malformed), never into a grader fault.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

from facekit.base.errors import InputError

DEFAULT_MAX_JSON_DEPTH = 32
_READ_CHUNK = 1 << 16
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class UntrustedFileError(InputError, ValueError):
    """A file left by untrusted code is missing, not a bounded regular file, or malformed."""


def _components(relative: str | os.PathLike) -> list[str]:
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(p in ("..", ".") for p in parts):
        raise ValueError(f"{relative!s} must be a plain relative path beneath the directory")
    return list(parts)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_untrusted_bytes(root: Path, relative: str | os.PathLike, max_bytes: int) -> bytes:
    """The bytes of the regular file `root/relative`, at most `max_bytes`, following no link.

    Raises `UntrustedFileError` when the file is absent, is reached through a symbolic link, is not
    a regular file (FIFO, device, socket, directory), or holds more than `max_bytes`.
    """
    parts = _components(relative)
    shown = "/".join(parts)
    try:
        directory = os.open(root, _DIRECTORY_FLAGS)
    except OSError as error:
        raise UntrustedFileError(f"cannot open the directory {root}: {error.strerror}") from None
    try:
        for part in parts[:-1]:
            try:
                child = os.open(part, _DIRECTORY_FLAGS, dir_fd=directory)
            except FileNotFoundError:
                raise UntrustedFileError(f"{shown} is missing") from None
            except OSError:
                raise UntrustedFileError(
                    f"{shown}: {part} is not a plain directory (a link or another kind of file)"
                ) from None
            os.close(directory)
            directory = child
        try:
            handle = os.open(parts[-1], _FILE_FLAGS, dir_fd=directory)
        except FileNotFoundError:
            raise UntrustedFileError(f"{shown} is missing") from None
        except OSError as error:
            reason = "a symbolic link" if error.errno == errno.ELOOP else error.strerror
            raise UntrustedFileError(f"{shown} cannot be read as a plain file: {reason}") from None
    finally:
        os.close(directory)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedFileError(f"{shown} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise UntrustedFileError(
                f"{shown} holds {info.st_size} bytes, more than the limit of {max_bytes}"
            )
        chunks, size = [], 0
        while chunk := os.read(handle, min(_READ_CHUNK, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # it grew after fstat
                raise UntrustedFileError(f"{shown} grew past the limit of {max_bytes} bytes")
        return b"".join(chunks)
    finally:
        os.close(handle)


def read_untrusted_text(root: Path, relative: str | os.PathLike, max_bytes: int) -> str:
    """`read_untrusted_bytes`, decoded as UTF-8 (a decoding error is an `UntrustedFileError`)."""
    data = read_untrusted_bytes(root, relative, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UntrustedFileError(f"{relative!s} is not UTF-8 text ({error.reason})") from None


def json_depth(value: Any) -> int:
    """How deeply lists and dicts nest in `value` (a scalar is 0), computed without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def load_untrusted_json(
    root: Path,
    relative: str | os.PathLike,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_JSON_DEPTH,
) -> Any:
    """Parse the JSON file `root/relative` as `read_untrusted_bytes` reads it, nesting bounded."""
    text = read_untrusted_text(root, relative, max_bytes)
    try:
        value = json.loads(text)
    except RecursionError:
        raise UntrustedFileError(f"{relative!s} nests deeper than {max_depth} levels") from None
    except json.JSONDecodeError as error:
        raise UntrustedFileError(
            f"{relative!s} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg})"
        ) from None
    if json_depth(value) > max_depth:
        raise UntrustedFileError(f"{relative!s} nests deeper than {max_depth} levels")
    return value


def remove_untrusted_tree(path: Path) -> None:
    """Delete the directory tree at `path`, however deep, never following a link out of it.

    GNU `rm` walks with `openat` (no recursion limit, no path-length limit) and never follows
    symbolic links; permissions are restored first, since the sandbox may have left directories
    its owner cannot enter. Raises `OSError` when something is left.
    """
    path = Path(path)
    if path.is_symlink():
        path.unlink()
        return
    if not path.exists():
        return
    subprocess.run(["chmod", "-R", "u+rwx", "--", str(path)], capture_output=True, check=False)
    done = subprocess.run(
        ["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True, text=True
    )
    if path.exists() or path.is_symlink():
        raise OSError(f"could not remove {path}: {done.stderr.strip() or 'unknown reason'}")
