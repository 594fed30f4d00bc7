"""Public names: a random pseudonym per participant until they choose their own (issue 11)."""

import secrets
import unicodedata

from autograder.leaderboard.errors import LeaderboardError
from autograder.leaderboard.models import DISPLAY_NAME_MAX_LENGTH


def new_pseudonym() -> str:
    """A random public name such as `anonymous-3f9a1c2e` (32 bits: collisions are negligible)."""
    return f"anonymous-{secrets.token_hex(4)}"


def check_display_name(text: str) -> str:
    """`text` stripped, if it is 2..40 printable characters; else LeaderboardError saying why."""
    name = " ".join(text.split())
    if not 2 <= len(name) <= DISPLAY_NAME_MAX_LENGTH:
        raise LeaderboardError(
            f"a display name has 2 to {DISPLAY_NAME_MAX_LENGTH} characters, got {len(name)}"
        )
    if any(unicodedata.category(char)[0] in "CZ" and char != " " for char in name):
        raise LeaderboardError("a display name has only printable characters and spaces")
    return name
