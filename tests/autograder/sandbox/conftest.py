"""Fixtures for the sandbox tests: run a snippet of Python in a fresh sandbox."""

import dataclasses
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from autograder.sandbox import (
    REQUIRED_PROTECTIONS,
    Limits,
    SandboxResult,
    isolation_report,
    run_sandboxed,
)

# Small limits so a misbehaving snippet costs seconds, not minutes.
SMALL = Limits(cpu_seconds=5, memory_bytes=1 * 2**30, wall_seconds=10.0, max_processes=32)


@pytest.fixture
def missing_required() -> tuple[str, ...]:
    """The required protections this machine (for this user) lacks: the tests of the others run
    anyway, as a TA's `--allow-weaker-sandbox` would; each test of a missing one skips."""
    report = isolation_report()
    return tuple(name for name in REQUIRED_PROTECTIONS if not report[name])


@pytest.fixture
def small_limits(missing_required) -> Limits:
    """Limits small enough that a misbehaving snippet costs seconds."""
    return dataclasses.replace(SMALL, allow_weaker=missing_required)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty working directory for the sandboxed script."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def run_snippet(workdir: Path, small_limits: Limits) -> Callable[..., SandboxResult]:
    """`run_snippet(code, limits=small_limits, args=())`: write `code` to workdir/snippet.py,
    run it."""

    def run(code: str, limits: Limits = small_limits, args: tuple[str, ...] = ()) -> SandboxResult:
        script = workdir / "snippet.py"
        script.write_text(textwrap.dedent(code))
        return run_sandboxed(script, workdir, limits, args)

    return run


@pytest.fixture
def protection():
    """`protection(name)` skips the test, saying why, when this machine (for this user) lacks
    that protection."""

    def check(name: str) -> None:
        if not isolation_report()[name]:
            pytest.skip(
                f"sandbox protection {name!r} is not available on this machine for this user"
            )

    return check
