"""Autograder: notebook extraction, sandboxed worker, judge, scoring, grades and leaderboard."""
