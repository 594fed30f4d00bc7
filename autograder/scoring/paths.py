"""Files shipped with the scoring package."""

from pathlib import Path

COURSE_EXAMPLE = Path(__file__).resolve().parent / "course_example.toml"
"""A documented example of the course file, holding every tool's tables."""
