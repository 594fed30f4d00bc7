"""The leaderboard's domain errors: messages for a person, caught at the command line or HTTP.

Staff setup (keys, course file, database URL or schema) raises the kit's own `SetupError`.
"""

from facekit.base.errors import InputError


class LeaderboardError(InputError):
    """An input or request the leaderboard cannot take (a roster, a time, a name, an upload)."""


class SubmissionRefused(LeaderboardError):
    """An upload the server will not score or store; the message tells the student why."""


class DeadlinePassed(SubmissionRefused):
    """Too late: after the student's cut-off, or beyond their late-day budget."""
