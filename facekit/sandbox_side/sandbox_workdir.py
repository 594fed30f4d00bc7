"""Copy a run's working folder onto its own size-limited tmpfs and back: a disk quota per run.

The sandboxed script writes only into its working folder, which the launcher mounts as a tmpfs of
`size = inputs + Limits.disk_bytes` (and a bounded number of inodes), so a run cannot fill the
host's disk. The trusted caller still fills the real folder before the run and reads it after:

1. before: the launcher copies the caller's folder (trusted inputs) onto the new tmpfs;
2. after: it empties the caller's folder (hidden under the tmpfs during the run, so unchanged)
   and copies back what the run left, with the same suspicion as `facekit.base.untrusted`: regular
   files and directories only, nothing reached through a link, FIFOs opened without blocking and
   skipped, at most `MAX_DEPTH` levels. The caller then reads it with `facekit.base.untrusted`.

Standard library only: the launcher (`python -I -S launcher.py`) imports this module.
"""

from __future__ import annotations

import os
import shutil
import stat

MAX_DEPTH = 32  # deeper folders left by a run are not copied back
RUN_INODES = 10_000  # files and folders a run may create beyond its inputs
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20


def open_directory(path: str, dir_fd: int | None = None) -> int:
    """A file descriptor of the directory `path`, refusing a link."""
    return os.open(path, _DIRECTORY_FLAGS, dir_fd=dir_fd)


def tree_usage(directory: int) -> tuple[int, int]:
    """(bytes, entries) of the regular files and folders beneath the open `directory`."""
    total, entries = 0, 0
    for entry in os.scandir(directory):
        entries += 1
        if entry.is_dir(follow_symlinks=False):
            child = open_directory(entry.name, directory)
            try:
                size, count = tree_usage(child)
            finally:
                os.close(child)
            total, entries = total + size, entries + count
        elif entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
    return total, entries


def copy_tree(source: int, target: int, depth: int = 0) -> None:
    """Copy the regular files and folders beneath `source` into `target` (both open folders).

    Links, FIFOs, sockets and devices are skipped, as are folders deeper than MAX_DEPTH."""
    for entry in os.scandir(source):
        if entry.is_dir(follow_symlinks=False):
            if depth >= MAX_DEPTH:
                continue
            os.mkdir(entry.name, 0o700, dir_fd=target)
            child_source = open_directory(entry.name, source)
            try:
                child_target = open_directory(entry.name, target)
                try:
                    copy_tree(child_source, child_target, depth + 1)
                finally:
                    os.close(child_target)
            finally:
                os.close(child_source)
        elif entry.is_file(follow_symlinks=False):
            _copy_file(entry.name, source, target)


def _copy_file(name: str, source: int, target: int) -> None:
    try:
        reader = os.open(name, _FILE_FLAGS, dir_fd=source)
    except OSError:
        return  # replaced by a link or removed since the listing
    try:
        if not stat.S_ISREG(os.fstat(reader).st_mode):
            return
        writer = os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600, dir_fd=target
        )
        try:
            while chunk := os.read(reader, _CHUNK):
                os.write(writer, chunk)
        finally:
            os.close(writer)
    finally:
        os.close(reader)


def empty_directory(directory: int) -> None:
    """Delete everything beneath the open `directory` (the caller's files), following no link."""
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.name, dir_fd=directory)
        else:
            os.unlink(entry.name, dir_fd=directory)
