"""File formats shared by scoring, grades, the Kaggle bundle and the leaderboard: names only.

Other packages import these names instead of spelling column headers themselves, so a format
changes in one place.
"""

TASKS = ("classification", "verification")
"""The two leaderboard tasks, in display order."""

USAGES = ("Public", "Private")
"""Values of the keys' `usage` column: which leaderboard split a row counts towards."""

KEY_FILES = {"classification": "cls_test.csv", "verification": "ver_test.csv"}
"""Hidden answer keys, relative to the keys directory (written by `data_tools`)."""

KEY_COLUMNS = {
    "classification": ("id", "label", "usage"),
    "verification": ("pair_id", "label", "usage"),
}
"""Header of each key file; verification labels are 1 (same identity) or 0."""

SUBMISSION_COLUMNS = {
    "classification": ("id", "label"),
    "verification": ("pair_id", "score"),
}
"""Header of a student's submission CSV for each task."""

METRICS = {"classification": "accuracy", "verification": "roc_auc"}
"""The leaderboard metric of each task (higher is better for both)."""

SAMPLE_SUBMISSION_FILES = {
    "classification": "sample_submissions/classification.csv",
    "verification": "sample_submissions/verification.csv",
}
"""Sample submissions inside a competition directory."""

KAGGLE_SOLUTION_COLUMNS = {
    "classification": ("id", "label", "Usage"),
    "verification": ("pair_id", "label", "Usage"),
}
"""Header of Kaggle's `solution.csv` for each task (`Usage` is Kaggle's Public/Private column)."""

COMPONENTS = (
    "basic_block",
    "bottleneck",
    "convnext_block",
    "inverted_residual",
    "arcface",
    "cosface",
    "sphereface",
    "triplet_loss",
    "batch_hard_triplet_loss",
    "center_loss",
    "network",
)
"""Notebook components graded by the judge (nbgrader grade_ids), in gradebook column order."""

GRADEBOOK_STUDENT_COLUMN = "student"
GRADEBOOK_TOTAL_COLUMN = "total"
"""The judge's gradebook: `student`, one points column per component, then `total`."""

LEADERBOARD_EXPORT_COLUMNS = ("student", "task", "public", "private")
"""Leaderboard export: one row per student and task; grades use the `private` score."""


def grades_columns(
    components: tuple[str, ...] = COMPONENTS, manual: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Header of the generic grades CSV written by `facekit grades` (`manual`: the course's
    manual components; `overrides` lists the overrides applied, with their reasons)."""
    task_columns = tuple(f"{task}_{kind}" for task in TASKS for kind in ("score", "points"))
    return (
        "student",
        "lms_id",
        *components,
        "notebook_total",
        *manual,
        *task_columns,
        "total",
        "overrides",
    )


CANVAS_IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
"""Canvas gradebook import: these identity columns, then one column per assignment titled
'Title (assignment id)' for an existing assignment (a bare title creates a new one); an optional
second row 'Points Possible' gives each assignment's maximum."""

GRADESCOPE_COLUMNS = ("Name", "SID", "Email", "Total Score")
"""Gradescope's score CSV (as its own export writes it): students are matched by SID or Email."""
