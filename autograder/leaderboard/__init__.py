"""The leaderboard web service: tokens, uploads, daily limits, public/private scores."""
