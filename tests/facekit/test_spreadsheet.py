"""Is every CSV cell a student can write made inert for a spreadsheet, numbers untouched?"""

import pytest

from facekit.base.spreadsheet import inert_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil/", "x")', '\'=HYPERLINK("http://evil/", "x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-1.5", "'-1.5"),  # text (a name, a reason) is text, even when it reads as a number
        ("alice", "alice"),
        ("a=b", "a=b"),
        ("", ""),
        (-1.5, -1.5),
        (0, 0),
        (None, None),
    ],
)
def test_inert_cell(value, expected):
    """Does a string with a formula prefix get a quote, and anything else stay as it was?"""
    assert inert_cell(value) == expected
