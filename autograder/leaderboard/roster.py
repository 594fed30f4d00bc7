"""Read the staff roster CSV and write the one-time tokens file."""

import csv
import os
from pathlib import Path

from autograder.leaderboard.errors import LeaderboardError

ROSTER_COLUMN = "student"
TOKENS_COLUMNS = ("student", "token")


def read_roster(path: Path) -> list[str]:
    """Names from the `student` column of a CSV (other columns are allowed and ignored)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            if reader.fieldnames is None or ROSTER_COLUMN not in reader.fieldnames:
                raise LeaderboardError(
                    f"{path}: expected a header with a '{ROSTER_COLUMN}' column, "
                    f"found {reader.fieldnames}"
                )
            names = []
            for row in reader:
                name = (row[ROSTER_COLUMN] or "").strip()
                if not name:
                    raise LeaderboardError(f"{path}, line {reader.line_num}: empty student name")
                names.append(name)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LeaderboardError(f"cannot read roster {path}: {error}") from error
    if not names:
        raise LeaderboardError(f"{path}: the roster lists no students")
    return names


def open_tokens_file(path: Path):
    """Create `path` for writing, readable only by its owner; never overwrite old tokens."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as error:
        raise LeaderboardError(
            f"{path} exists: it may hold tokens that cannot be shown again; choose a new path"
        ) from error
    except OSError as error:
        raise LeaderboardError(f"cannot create {path}: {error}") from error
    return os.fdopen(descriptor, "w", newline="", encoding="utf-8")


def write_tokens(file, tokens: dict[str, str]) -> None:
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(TOKENS_COLUMNS)
    writer.writerows(tokens.items())
