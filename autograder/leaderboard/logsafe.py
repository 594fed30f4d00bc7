"""Log lines that text from a request cannot forge (issue 9: `%0A` in a URL made a new line).

Every control character (C0, DEL, C1), line and paragraph separator and invisible format
character (e.g. a right-to-left override) in a log message is written as a `\\x..`/`\\u....`
escape; backslashes are doubled so an escape in the input cannot pass for one we wrote.
"""

import logging
import re
import unicodedata

_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]|[^\x00-\x7f]")


def _escape(match: re.Match) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    if ord(char) > 0x9F and unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp"):
        return char
    return f"\\x{ord(char):02x}" if ord(char) <= 0xFF else f"\\u{ord(char):04x}"


def escape_controls(text: str) -> str:
    """`text` with control and invisible characters escaped; printable text unchanged."""
    return _UNSAFE.sub(_escape, text)


class SafeFormatter(logging.Formatter):
    """A Formatter whose message part never spans lines (tracebacks still follow as usual)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return escape_controls(super().formatMessage(record))
