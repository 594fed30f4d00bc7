"""Typed settings of one leaderboard server."""

from dataclasses import dataclass
from pathlib import Path

from autograder.scoring import DEFAULT_MAX_BYTES
from facekit.base.errors import SetupError


@dataclass(frozen=True)
class LeaderboardConfig:
    """What `create_app` needs; every field has a default except where the keys live."""

    keys_dir: Path  # hidden answer keys: cls_test.csv and ver_test.csv (id/pair_id,label,usage)
    db_url: str = "sqlite:///leaderboard.db"  # SQLAlchemy URL; postgresql+psycopg://... for PG
    max_upload_bytes: int = DEFAULT_MAX_BYTES  # larger uploads are refused with HTTP 413
    daily_limit: int = 5  # scored submissions per student and task per UTC day
    invalid_limit: int = 20  # invalid uploads per student within invalid_window_minutes
    invalid_window_minutes: int = 60  # the sliding window of invalid_limit
    staff_token: str | None = None  # bearer token for /api/staff/*; None disables those routes
    title: str = "HW2P2 leaderboard"  # shown on every page
    threads: int = 8  # server worker threads; also the size of the database connection pool
    course_file: Path | None = None  # course TOML: [leaderboard], [phases], [late] (course.py)

    def __post_init__(self) -> None:
        if self.daily_limit < 1:
            raise SetupError(f"daily_limit must be at least 1, got {self.daily_limit}")
        if self.invalid_limit < 1 or self.invalid_window_minutes < 1:
            raise SetupError(
                "invalid_limit and invalid_window_minutes must be at least 1, got "
                f"{self.invalid_limit} and {self.invalid_window_minutes}"
            )
        if self.threads < 1:
            raise SetupError(f"threads must be at least 1, got {self.threads}")
        if self.max_upload_bytes < 1:
            raise SetupError(f"max_upload_bytes must be positive, got {self.max_upload_bytes}")
        if not Path(self.keys_dir).is_dir():
            raise SetupError(f"keys directory not found: {self.keys_dir}")
