"""The competition contract: every file name, header, task name, usage and component id.

DESIGN.md, "Competition data layout". The builder, the checker, training, scoring, grades, the
Kaggle bundle, the leaderboard, the judge and the tests import these names instead of spelling
them, so a format changes in one place (`tests/facekit/base/test_contract_single_source.py`
finds stray copies). Names only: reading and writing CSVs lives in `csv_files` and `csv_reader`.
"""

import re

# ---------------------------------------------------------------- tasks
CLASSIFICATION = "classification"
VERIFICATION = "verification"
TASKS = (CLASSIFICATION, VERIFICATION)
"""The two leaderboard tasks, in display order."""

USAGES = ("Public", "Private")
"""Values of the keys' `usage` column: which leaderboard split a row counts towards."""

METRICS = {CLASSIFICATION: "accuracy", VERIFICATION: "roc_auc"}
"""The leaderboard metric of each task (higher is better for both)."""

# ---------------------------------------------------------------- the competition directory
CLS_DATA = "cls_data"
VER_DATA = "ver_data"
CLS_TRAIN = f"{CLS_DATA}/train"
CLS_DEV = f"{CLS_DATA}/dev"
CLS_TEST = f"{CLS_DATA}/test"
VER_IMAGES = f"{VER_DATA}/images"
VAL_PAIRS = f"{VER_DATA}/val_pairs.csv"
TEST_PAIRS = f"{VER_DATA}/test_pairs.csv"
MANIFEST = "manifest.json"
"""Paths relative to the competition directory."""

VAL_PAIRS_HEADER = ("pair_id", "image_a", "image_b", "label")
TEST_PAIRS_HEADER = ("pair_id", "image_a", "image_b")
"""Headers of the verification pair files; val pairs are labelled (1 = same identity)."""

# Renamed (test and verification) images: a keyed hash, nothing else.
OPAQUE_NAME_LENGTH = 20
OPAQUE_NAME = re.compile(rf"^[0-9a-f]{{{OPAQUE_NAME_LENGTH}}}\.[a-z]+$")

# ---------------------------------------------------------------- submissions
SUBMISSION_FILES = {CLASSIFICATION: "classification.csv", VERIFICATION: "verification.csv"}
"""File name of each task's submission (what training and the notebook write)."""

SUBMISSION_COLUMNS = {
    CLASSIFICATION: ("id", "label"),
    VERIFICATION: ("pair_id", "score"),
}
"""Header of a student's submission CSV for each task."""

SAMPLE_SUBMISSIONS = "sample_submissions"
SAMPLE_SUBMISSION_FILES = {task: f"{SAMPLE_SUBMISSIONS}/{SUBMISSION_FILES[task]}" for task in TASKS}
"""Sample submissions inside a competition directory (same headers as a submission)."""
SAMPLE_CLS = SAMPLE_SUBMISSION_FILES[CLASSIFICATION]
SAMPLE_VER = SAMPLE_SUBMISSION_FILES[VERIFICATION]

# ---------------------------------------------------------------- the hidden keys directory
KEY_FILES = {CLASSIFICATION: "cls_test.csv", VERIFICATION: "ver_test.csv"}
"""Hidden answer keys, relative to the keys directory (written by `data_tools`)."""
KEYS_CLS = KEY_FILES[CLASSIFICATION]
KEYS_VER = KEY_FILES[VERIFICATION]
# Hidden: which identity each verification image shows, so `check` can prove the open set.
KEYS_VER_IMAGES = "ver_images.csv"
KEYS_MANIFEST = MANIFEST

KEY_COLUMNS = {
    CLASSIFICATION: ("id", "label", "usage"),
    VERIFICATION: ("pair_id", "label", "usage"),
}
"""Header of each key file; verification labels are 1 (same identity) or 0."""
KEYS_VER_IMAGES_HEADER = ("image", "identity")

KAGGLE_SOLUTION_COLUMNS = {
    CLASSIFICATION: ("id", "label", "Usage"),
    VERIFICATION: ("pair_id", "label", "Usage"),
}
"""Header of Kaggle's `solution.csv` for each task (`Usage` is Kaggle's Public/Private column)."""

# ---------------------------------------------------------------- graded components
BASIC_BLOCK = "basic_block"
BOTTLENECK = "bottleneck"
CONVNEXT_BLOCK = "convnext_block"
INVERTED_RESIDUAL = "inverted_residual"
ARCFACE = "arcface"
COSFACE = "cosface"
SPHEREFACE = "sphereface"
TRIPLET_LOSS = "triplet_loss"
BATCH_HARD_TRIPLET_LOSS = "batch_hard_triplet_loss"
CENTER_LOSS = "center_loss"
NETWORK = "network"

COMPONENT_CLASSES = {
    BASIC_BLOCK: "BasicBlock",
    BOTTLENECK: "Bottleneck",
    CONVNEXT_BLOCK: "ConvNeXtBlock",
    INVERTED_RESIDUAL: "InvertedResidual",
    ARCFACE: "ArcFace",
    COSFACE: "CosFace",
    SPHEREFACE: "SphereFace",
    TRIPLET_LOSS: "TripletLoss",
    BATCH_HARD_TRIPLET_LOSS: "BatchHardTripletLoss",
    CENTER_LOSS: "CenterLoss",
    NETWORK: "Network",
}
"""Each graded component (the notebook cell's nbgrader grade_id) and the class it must define
(DESIGN.md, "Student-facing API contract"), in gradebook column order."""

COMPONENTS = tuple(COMPONENT_CLASSES)
"""Notebook components graded by the judge (nbgrader grade_ids), in gradebook column order."""

BLOCKS = (BASIC_BLOCK, BOTTLENECK, CONVNEXT_BLOCK, INVERTED_RESIDUAL)
"""The residual-block components (module in, module out: one input `x`)."""

LOSSES = (ARCFACE, COSFACE, SPHEREFACE, TRIPLET_LOSS, BATCH_HARD_TRIPLET_LOSS, CENTER_LOSS)
"""The margin-head and metric-loss components."""

# ---------------------------------------------------------------- grades and exports
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
