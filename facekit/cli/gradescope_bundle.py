"""`facekit gradescope-bundle`: write the Gradescope autograder zip."""

import argparse

from autograder.gradescope.settings import GradescopeTables
from facekit.base.paths import REPO_ROOT
from facekit.cli.options import add_course, add_out

DEFAULT_SETTINGS = REPO_ROOT / "configs" / "gradescope.toml"


DESCRIPTION = (
    "Write DIR/autograder.zip: setup.sh (a CPU-only PyTorch and this kit, "
    "pinned to the versions installed here), run_autograder (grades the notebook in "
    "/autograder/submission/ into /autograder/results/results.json), a README with the "
    "container settings to choose, and the kit's source tree with the reference notebook "
    "(students never see the zip)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit gradescope-bundle`."""
    add_out(parser, "output folder", metavar="DIR")
    add_course(
        parser,
        GradescopeTables,
        "course file whose [gradescope] table sets who sees which test when",
        option="--config",
        default=DEFAULT_SETTINGS,
    )


def run(args: argparse.Namespace) -> int:
    """Build the zip (a bad settings file or a kit installed without its checkout: SetupError)."""
    from autograder.gradescope.bundle import build_bundle  # noqa: PLC0415
    from autograder.gradescope.settings import load_settings  # noqa: PLC0415
    from autograder.judge.rubric import load_rubric  # noqa: PLC0415

    ids = tuple(component.id for component in load_rubric().components)
    settings = load_settings(args.config, ids)
    path = build_bundle(args.out, settings)
    print(f"wrote {path}; upload it as the autograder of a Gradescope programming assignment")
    return 0
