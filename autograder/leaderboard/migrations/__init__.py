"""Alembic migrations of the leaderboard database: one revision per schema change (issue 11)."""
