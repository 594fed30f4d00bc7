"""Read an uploaded CSV with bounded memory and CPU before the scorer sees it (issue 9).

A 48 MB invalid CSV once cost 12.5 s of CPU and 1.5 GB of memory in the full validator. Here the
upload is streamed line by line from werkzeug's spooled file: its size is capped by what a valid
file for these keys can weigh, its data lines by the number of key rows, and reading stops at the
first MAX_PROBLEMS_SHOWN structural problems. Only a file that passes reaches `parse_submission`,
whose cost is then that of a valid submission.
"""

from typing import BinaryIO

from autograder.leaderboard.store import UploadTooLarge
from autograder.scoring import InvalidSubmission, Keys
from facekit.base.contract import SUBMISSION_COLUMNS, VERIFICATION
from facekit.base.errors import MAX_PROBLEMS_SHOWN, ProblemList

SCORE_WIDTH = 32
"""Bytes allowed for one verification score: `repr` of any float64 fits with room to spare."""
ROW_SLACK = 16
"""Bytes per row for the comma, quotes, spaces and CRLF a spreadsheet may add."""
FILE_SLACK = 4096
"""Bytes per file for the header, a byte-order mark and trailing blank lines."""


def upload_limit(keys: Keys, max_bytes: int) -> int:
    """The most bytes a valid submission for `keys` can take, and never more than `max_bytes`."""
    id_width = max(map(len, keys.ids), default=0)
    value_width = (
        SCORE_WIDTH if keys.task == VERIFICATION else max(map(len, keys.label_set), default=0)
    )
    expected = len(keys) * (id_width + value_width + ROW_SLACK) + FILE_SLACK
    return min(max_bytes, expected)


def too_large_message(keys: Keys, limit: int) -> str:
    return (
        f"file too large: the limit is {limit} bytes "
        f"(a {keys.task} submission has {len(keys)} rows)"
    )


def read_upload(stream: BinaryIO, keys: Keys, filename: str, max_bytes: int) -> bytes:
    """The upload's bytes once its size, encoding, field counts and row count are plausible.

    Raises UploadTooLarge past `upload_limit` (having read at most that many bytes), or
    InvalidSubmission with the first problems found (UTF-8, NUL bytes, field counts, more data
    lines than the keys have rows). Memory: the bytes kept plus one line of at most the limit.
    """
    limit = upload_limit(keys, max_bytes)
    fields = len(SUBMISSION_COLUMNS[keys.task])
    problems = ProblemList(filename, cap=MAX_PROBLEMS_SHOWN)
    chunks: list[bytes] = []
    size = data_lines = 0
    header_seen = False
    line_number = 0
    while len(problems.problems) < MAX_PROBLEMS_SHOWN:
        line = stream.readline(limit - size + 1)
        if not line:
            break
        size += len(line)
        if size > limit:
            raise UploadTooLarge(too_large_message(keys, limit))
        line_number += 1
        chunks.append(line)
        if b"\x00" in line:
            problems.add(line_number, None, "file contains NUL bytes: expected a plain UTF-8 CSV")
            break
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            byte = line[error.start]
            problems.add(line_number, None, f"not valid UTF-8 (byte 0x{byte:02x}): save as UTF-8")
            break
        if not text.strip():
            continue
        if not header_seen:
            header_seen = True
            continue
        data_lines += 1
        if data_lines > len(keys):
            problems.add(
                line_number, None, f"more rows than the test set has: expected {len(keys)}"
            )
            break
        if '"' not in text and text.count(",") != fields - 1:
            found = text.count(",") + 1
            problems.add(line_number, None, f"expected {fields} fields, found {found}")
    if problems:
        raise InvalidSubmission(problems.problems, problems.omitted)
    return b"".join(chunks)
