"""Where the kit's own files live in a checkout of the course repository."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTION_NOTEBOOK = REPO_ROOT / "solutions" / "hw2p2_source.ipynb"
HANDOUT_NOTEBOOK = REPO_ROOT / "handout" / "hw2p2.ipynb"
SOLUTIONS_DIR = SOLUTION_NOTEBOOK.parent
