"""The leaderboard's domain errors: messages for a person, caught at the command line or HTTP."""


class LeaderboardError(Exception):
    """A staff-side mistake (bad roster, bad URL, missing keys) with a readable message."""


class SubmissionRefused(LeaderboardError):
    """An upload the server will not score or store; the message tells the student why."""


class DeadlinePassed(SubmissionRefused):
    """Too late: after the student's cut-off, or beyond their late-day budget."""


class SetupError(LeaderboardError):
    """Staff setup is wrong (keys, course file, database URL or schema): exit code 2."""
