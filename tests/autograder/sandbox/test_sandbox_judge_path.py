"""The sandbox as the judge uses it: a notebook that reads `solutions/` gets nothing from it, and
every worker run of a notebook shares one wall-clock budget."""

import dataclasses

import nbformat
import pytest

from autograder.judge import runner
from autograder.sandbox import REPO_ROOT, SandboxResult
from facekit.base.paths import HANDOUT_NOTEBOOK

# Defines every component by running the reference's own cells, read from solutions/.
SOURCE = REPO_ROOT / "solutions" / "hw2p2_source.ipynb"
COPY_THE_REFERENCE = f"""
import json, pathlib
_source = json.loads(pathlib.Path({str(SOURCE)!r}).read_text())
for _cell in _source["cells"]:
    if _cell["cell_type"] == "code" and "export" in _cell.get("metadata", {{}}).get("tags", []):
        exec("".join(_cell["source"]), globals())
"""


@pytest.mark.slow
def test_a_notebook_reading_solutions_gets_zero(tmp_path, protection, missing_required):
    """Does a handout whose extra cell execs the reference read from solutions/ score 0?"""
    protection("landlock_filesystem")
    from autograder.judge import grade_notebook
    from autograder.judge.judge import default_limits

    notebook = nbformat.read(HANDOUT_NOTEBOOK, as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(COPY_THE_REFERENCE, metadata={"tags": ["export"]})
    )
    path = tmp_path / "copies_the_reference.ipynb"
    nbformat.write(notebook, path)
    limits = dataclasses.replace(default_limits(), allow_weaker=missing_required)
    report = grade_notebook(path, limits=limits)
    assert report.total == 0, report.to_markdown()
    assert "BEGIN SOLUTION" not in report.to_markdown()


def test_worker_restarts_share_the_notebook_wall_budget(monkeypatch, tmp_path):
    """Does a worker that hangs in every case get one wall budget for the notebook, not one per
    restart? (A fake clock and sandbox: nothing sleeps.)"""
    clock = [0.0]
    given: list[float] = []

    def hanging_run(script, workdir, limits, args=(), zygote=None):
        given.append(limits.wall_seconds)
        clock[0] += limits.wall_seconds
        return SandboxResult(
            None, True, "", "", limits.wall_seconds, limits.wall_seconds, ready=True
        )  # the worker got ready, then student code hung

    monkeypatch.setattr(runner.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr("autograder.sandbox.run_sandboxed", hanging_run)
    monkeypatch.setattr(runner, "_write_inputs", lambda *args: None)
    from autograder.judge.judge import default_limits
    from autograder.judge.prepare import prepared_cases

    limits = default_limits()
    run = runner.run_worker([], prepared_cases(grading_seed=0), limits)
    assert sum(given) <= limits.wall_seconds and len(given) == 1
    statuses = {answer.status for answer in run.answers.values()}
    assert statuses <= {runner.Status.TIMEOUT, runner.Status.CRASHED, runner.Status.NOT_RUN}
