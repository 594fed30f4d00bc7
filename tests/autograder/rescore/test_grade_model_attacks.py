"""Hostile notebooks against `facekit grade-model` (issue 9): staff files stay byte-identical,
patched helpers cannot forge "reproduces", malformed outputs are the student's failure, and a
broken grader stops before judging anyone (issue 14)."""

import dataclasses
import hashlib
import json
import textwrap
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell

from facekit.base.contract import CLASSIFICATION, CLS_TRAIN, SUBMISSION_FILES, VERIFICATION
from facekit.base.csv_files import read_rows
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.cli.main import main as facekit
from facekit.notebook.reference import load_reference
from facekit.sandbox_side.inference import Preprocessing

pytestmark = pytest.mark.slow

TINY_NETWORK = {"depths": [1, 1], "widths": [8, 16], "embedding_dim": 16}


def notebook_with(tmp_path: Path, attack: str) -> Path:
    """The reference notebook plus an export cell running `attack` at import time.

    The attack runs from a class body, which executes at import like any definition (so it runs
    however the extraction treats loose top-level statements), in the module's global scope.
    """
    notebook = nbformat.read(SOLUTION_NOTEBOOK, as_version=4)
    source = textwrap.dedent(attack)
    cell = new_code_cell(f"class _Attack:\n    exec({source!r}, globals())\n", id="attack")
    cell.metadata["tags"] = ["export"]
    notebook.cells.append(cell)
    path = tmp_path / "attack.ipynb"
    nbformat.write(notebook, path)
    return path


def tiny_checkpoint(tmp_path: Path, comp: Path) -> Path:
    """An untrained tiny reference Network, saved with the notebook's checkpoint contract."""
    class_names = sorted(p.name for p in (comp / CLS_TRAIN).iterdir())
    torch.manual_seed(1)
    model = load_reference().Network(len(class_names), **TINY_NETWORK)
    path = tmp_path / "tiny.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "network_kwargs": TINY_NETWORK,
            "preprocessing": Preprocessing(image_size=32).to_dict(),
            "class_names": class_names,
        },
        path,
    )
    return path


def grade(tiny_run, notebook: Path, checkpoint: Path, out: Path, *extra: str) -> tuple[int, dict]:
    """Run `facekit grade-model` against the tiny run's submissions; (exit code, report)."""
    submissions = tiny_run.run / "submissions"
    code = facekit(
        [
            "grade-model",
            "--notebook", str(notebook),
            "--checkpoint", str(checkpoint),
            "--data", str(tiny_run.comp),
            "--keys", str(tiny_run.keys),
            "--submission", str(submissions / SUBMISSION_FILES[CLASSIFICATION]),
            str(submissions / SUBMISSION_FILES[VERIFICATION]),
            "--out", str(out),
            *extra,
        ]
    )  # fmt: skip
    report = out / "report.json"
    return code, json.loads(report.read_text()) if report.exists() else {}


def digests(*roots: Path) -> dict[str, str]:
    """SHA-256 and mode of every file below `roots` (what a staff file's integrity means)."""
    found = {}
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = path.stat()
            found[str(path)] = (
                f"{hashlib.sha256(path.read_bytes()).hexdigest()} {stat.st_mode:o} "
                f"{stat.st_uid} {stat.st_nlink}"
            )
    return found


def test_module_level_writes_leave_staff_files_identical(tiny_run, tmp_path: Path):
    """Family 1: appending to, truncating and chmod-ing every reachable file changes no staff
    file (images, pairs, keys, the run's checkpoint and CSVs): the sandbox holds only copies."""
    staff = [tiny_run.comp, tiny_run.keys, tiny_run.run]
    attack = f"""
    import os
    _targets = [os.path.join(d, f) for d, _, fs in os.walk(".") for f in fs]
    for _root in {[str(p) for p in staff]!r}:
        _targets += [os.path.join(d, f) for d, _, fs in os.walk(_root) for f in fs]
    _done = 0
    for _target in _targets:
        for _do in (
            lambda t: open(t, "ab").write(b"PWNED"),
            lambda t: os.chmod(t, 0o777),
            lambda t: os.truncate(t, 1) if "image" in t or t.endswith(".png") else None,
        ):
            try:
                _do(_target)
                _done += 1
            except OSError:
                pass
    raise SystemExit(f"attack finished: {{_done}} writes to {{len(_targets)}} files succeeded")
    """
    notebook = notebook_with(tmp_path, attack)
    checkpoint = tiny_checkpoint(tmp_path, tiny_run.comp)
    before = digests(*staff)
    code, report = grade(tiny_run, notebook, checkpoint, tmp_path / "out")
    assert digests(*staff) == before
    assert code == 1 and report["status"] == "could not run", report
    assert "attack finished" in report["problems"][0]  # it ran, and wrote to its own copies


FORGERIES = {
    "csv-writer": """
        import facekit_inference as _fi
        _fi.write_csv = lambda *a, **k: None
        _fi.write_submissions = lambda *a, **k: None
        _fi.classification_rows = lambda ids, p, names: [(i, CLS[i]) for i in ids]
        """,
    "embed-by-order": """
        import json, torch, facekit_inference as _fi
        _job = json.load(open("job.json"))
        _labels = [CLS[i] for i in sorted(CLS)]
        _names = sorted(set(_labels))
        def _embed(model, paths, *args, **kwargs):
            for start in range(0, len(paths), 8):
                rows = range(start, min(start + 8, len(paths)))
                logits = torch.zeros(len(rows), _job["num_classes"])
                for r, row in enumerate(rows):
                    if row < len(_labels):
                        logits[r, _names.index(_labels[row])] = 10.0
                yield torch.ones(len(rows), 4), logits
        _fi.embed_batches = _embed
        """,
    "torch-functions": """
        import torch
        import torch.nn.functional as F
        F.cosine_similarity = lambda a, b, **k: torch.ones(len(a))
        _topk = torch.Tensor.topk
        torch.Tensor.topk = lambda self, k, dim=-1: _topk(torch.zeros_like(self), k, dim)
        torch.Tensor.argmax = lambda self, dim=None: torch.zeros(len(self), dtype=torch.long)
        """,
    "verdict-files": """
        import json
        for _name in ("result.json", "report.json", "verdict.json"):
            json.dump({"ok": True, "status": "reproduces", "parameters": 1}, open(_name, "w"))
        """,
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_patched_helpers_cannot_forge_reproduction(tiny_run, tmp_path: Path, forgery: str):
    """Family 2: a tiny untrained checkpoint plus module-level patches of the inference helpers,
    the CSV writer, torch functions or verdict files does not "reproduce" another model's CSVs,
    even with those CSVs embedded in the notebook."""
    submitted = tiny_run.run / "submissions"
    labels = {
        row["id"]: row["label"] for row in read_rows(submitted / SUBMISSION_FILES[CLASSIFICATION])
    }
    attack = f"CLS = {labels!r}\n" + textwrap.dedent(FORGERIES[forgery])
    notebook = notebook_with(tmp_path, attack)
    code, report = grade(tiny_run, notebook, tiny_checkpoint(tmp_path, tiny_run.comp), tmp_path)
    assert code == 1, report
    assert report["status"] == "does not reproduce"  # the patched worker ran to the end
    assert not any(a["reproduces"] for a in report["agreements"]), report["agreements"]
    assert report["parameters"] < 20_000  # counted from the checkpoint's tensors


HOSTILE_OUTPUTS = {
    # Links and FIFOs never leave the sandbox (its work folder comes back as regular files only):
    # the outputs are simply missing.
    "dev-zero-link": ("os.remove(OUT); os.symlink('/dev/zero', OUT)", "is missing"),
    "fifo": ("os.remove(OUT); os.mkfifo(OUT)", "is missing"),
    "nan": (
        "save_file({k: v * float('nan') if v.is_floating_point() else v "
        "for k, v in load(open(OUT, 'rb').read()).items()}, OUT)",
        "NaN",
    ),
    "one-row-missing": (
        "save_file({k: v[1:].contiguous() for k, v in load(open(OUT, 'rb').read()).items()}, OUT)",
        "feats of shape",
    ),
}


@pytest.mark.parametrize("kind", HOSTILE_OUTPUTS)
def test_malformed_outputs_are_the_students_failure(tiny_run, tmp_path: Path, kind: str):
    """Outputs replaced after the worker wrote them (an atexit hook) are "could not run", exit 1,
    never a grader fault or a hang."""
    replace, reason = HOSTILE_OUTPUTS[kind]
    hook = "import os\nfrom safetensors.torch import load, save_file\nOUT = 'outputs.safetensors'\n"
    attack = f"import atexit\natexit.register(exec, {hook + replace!r}, {{}})\n"
    notebook = notebook_with(tmp_path, attack)
    code, report = grade(tiny_run, notebook, tiny_checkpoint(tmp_path, tiny_run.comp), tmp_path)
    assert code == 1 and report["status"] == "could not run", report
    assert reason in report["problems"][0] and report["agreements"] == []


def test_broken_grader_stops_before_judging(tiny_run, tmp_path: Path, capsys):
    """Issue 14: when the reference cannot run in the sandbox (here: too little memory to import
    torch), grade-model exits 3 naming the cause and records nothing."""
    course = tmp_path / "course.toml"
    course.write_text("[grade_model]\nmemory_gib = 0.25\n")
    out = tmp_path / "out"
    code, _ = grade(
        tiny_run,
        SOLUTION_NOTEBOOK,
        tiny_run.run / "checkpoints" / "last.pt",
        out,
        "--course-config",
        str(course),
    )
    error = capsys.readouterr().err
    assert code == 3, error
    assert "self-test failed" in error and "memory 0.25 GiB" in error
    assert not out.exists()


def test_self_test_catches_outputs_that_differ(tiny_run, tmp_path: Path, monkeypatch):
    """Issue 14: a sandbox path that runs but returns other numbers than the grader computes
    (here: feats shifted on the way back) is a grader fault, exit 3, before any student runs."""
    from autograder.rescore import grade_model as module

    real_run_job = module.run_job
    student_runs = []

    def shifted(network, images, limits, batch_size):
        if network.network_kwargs != module.SELF_TEST_NETWORK:
            student_runs.append(network)
        result = real_run_job(network, images, limits, batch_size)
        outputs = dataclasses.replace(result.outputs, feats=result.outputs.feats + 1e-2)
        return dataclasses.replace(result, outputs=outputs)

    monkeypatch.setattr(module, "run_job", shifted)
    code, _ = grade(
        tiny_run, SOLUTION_NOTEBOOK, tiny_run.run / "checkpoints" / "last.pt", tmp_path / "out"
    )
    assert code == 3 and student_runs == [] and not (tmp_path / "out").exists()
