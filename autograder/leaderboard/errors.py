"""The leaderboard's domain error: a message for a person, caught at the command line."""


class LeaderboardError(Exception):
    """A staff-side mistake (bad roster, bad URL, missing keys) with a readable message."""
