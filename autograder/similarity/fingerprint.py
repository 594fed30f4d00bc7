"""Winnowed fingerprints of the code a notebook is graded on (the MOSS method, via copydetect).

The text fingerprinted is what the judge grades: the module `extract_student_module` builds from
a notebook (graded classes and the helpers, imports and constants they use). copydetect tokenises
it with Pygments and replaces every identifier by a placeholder and every string by `S`, and drops
comments and white space, so renaming variables, reformatting or rewording comments changes
nothing; it then hashes every k-gram of the normalised text and keeps a winnowed subset, a set, so
reordering methods or cells changes nothing either.

Python's `hash()` is salted per process: fingerprints are comparable only between processes with
the same salt. `detect` computes them all in workers started with one fixed PYTHONHASHSEED.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from copydetect import CodeFingerprint
from copydetect.utils import get_token_coverage

from facekit.notebook.extract import NotebookError, extract_student_module, read_notebook

NOISE_TOKENS = 25  # k: shorter common runs (one call, one assignment) are never evidence
GUARANTEE_TOKENS = 30  # any shared run this long is always found (window = 30 - 25 + 1)


@dataclass
class Fingerprint:
    """One notebook's graded code and its winnowed fingerprints (copydetect's object inside)."""

    student: str
    notebook: Path
    code: CodeFingerprint | None  # None: the notebook could not be read
    problem: str = ""

    @property
    def hashes(self) -> set[int]:
        return set() if self.code is None else self.code.hashes


def graded_code(notebook: Path, contract: Mapping[str, str]) -> str:
    """The module source the judge would grade for `notebook` (raises `NotebookError`)."""
    return extract_student_module(read_notebook(notebook), str(notebook), contract).source


def fingerprint_code(code: str, boilerplate: Collection[int] = ()) -> CodeFingerprint:
    """copydetect's winnowed fingerprint of Python `code`, without the `boilerplate` hashes."""
    return CodeFingerprint(
        "graded.py",
        NOISE_TOKENS,
        GUARANTEE_TOKENS - NOISE_TOKENS + 1,
        boilerplate=list(boilerplate),
        fp=io.StringIO(code),
        language="python",
    )


def fingerprint_notebook(
    student: str, notebook: Path, contract: Mapping[str, str], boilerplate: Collection[int]
) -> Fingerprint:
    """The fingerprint of one submission; an unreadable notebook gets `problem` instead."""
    try:
        code = graded_code(notebook, contract)
    except NotebookError as error:
        return Fingerprint(student, notebook, None, str(error))
    return Fingerprint(student, notebook, fingerprint_code(code, boilerplate))


def drop_hashes(fingerprint: Fingerprint, dropped: Collection[int]) -> None:
    """Forget `dropped` hashes (shared by too many notebooks to be evidence), in place."""
    code = fingerprint.code
    if code is None or not dropped:
        return
    code.hashes = code.hashes - set(dropped)
    code.hash_idx = {h: where for h, where in code.hash_idx.items() if h in code.hashes}
    code.token_coverage = get_token_coverage(code.hash_idx, code.k, len(code.filtered_code))
