"""`facekit audit`: does each student's own model reproduce their leaderboard CSVs?"""
