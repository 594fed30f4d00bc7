"""Does the sandbox run the interpreter the grader runs, for every common way of installing the
kit? (Issue 14 item 1.) The sandboxed worker must see the grader's own sys.prefix and sys.path,
reach every entry of it (a venv inside the checkout, a venv under the private /tmp, entries that a
.pth file adds), import torch and safetensors, and still not read solutions/.

The venvs are built cheaply: `python -m venv`, then the running environment's site-packages
hard-linked into it (as /work/venvs/mkwt.sh does): real venvs, no download.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from autograder.sandbox import REPO_ROOT
from facekit.base.paths import SOLUTION_NOTEBOOK

# Run by the interpreter under test, as the grader: its own sys.prefix and sys.path, and what a
# sandboxed script run by it reports.
GRADER_SIDE = r"""
import json, sys, tempfile
from pathlib import Path
from autograder.sandbox import REQUIRED_PROTECTIONS, Limits, isolation_report, run_sandboxed

WORKER = '''
import json, os, sys
def reachable(path):
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").close()
        return True
    except OSError:
        return False
try:
    import torch, safetensors
    imported = True
except Exception as error:
    imported = repr(error)
print(json.dumps({"prefix": sys.prefix, "path": sys.path[1:], "imported": imported,
                  "reachable": {p: reachable(p) for p in sys.argv[1:]}}))
'''
candidates = [p for p in sys.path[1:] if Path(p).exists()] + [sys.argv[1]]
with tempfile.TemporaryDirectory() as work:
    script = Path(work) / "report.py"
    script.write_text(WORKER)
    # What this machine lacks for this user (a non-root TA without a cgroup), accepted as
    # `--allow-weaker-sandbox` would: this test is about the interpreter, not those protections.
    report = isolation_report()
    missing = tuple(name for name in REQUIRED_PROTECTIONS if not report[name])
    result = run_sandboxed(script, Path(work), Limits(allow_weaker=missing), args=candidates)
print(json.dumps({"prefix": sys.prefix, "path": sys.path[1:], "stderr": result.stderr[-3000:],
                  "worker": json.loads(result.stdout) if result.ok else None}))
"""


def grader_and_worker(python: Path) -> dict:
    """What `python`, as the grader, and its sandboxed worker say about themselves."""
    completed = subprocess.run(
        [str(python), "-c", GRADER_SIDE, str(SOLUTION_NOTEBOOK)],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def check_worker_is_the_graders(python: Path) -> None:
    """Same prefix and path as the grader, every entry outside the checkout (or inside the
    interpreter's own venv) reachable, torch imported, solutions/ unreadable."""
    seen = grader_and_worker(python)
    worker = seen["worker"]
    assert worker is not None, seen["stderr"]
    assert worker["prefix"] == seen["prefix"]
    assert worker["path"] == seen["path"]
    assert worker["imported"] is True, worker["imported"]
    prefix = Path(seen["prefix"]).resolve()
    for entry, reachable in worker["reachable"].items():
        path = Path(entry).resolve()
        in_checkout = path == REPO_ROOT or REPO_ROOT in path.parents
        own = path == prefix or prefix in path.parents
        if path == SOLUTION_NOTEBOOK.resolve():
            assert not reachable, "the sandbox can read solutions/"
        elif own or not in_checkout:
            assert reachable, f"{entry} is on the grader's sys.path but unreachable in the sandbox"


def test_worker_sees_the_graders_prefix_and_path():
    """Does the sandboxed worker of this very interpreter report the grader's own sys.prefix and
    sys.path (fails on any machine where the sandbox runs another interpreter)?"""
    check_worker_is_the_graders(Path(sys.executable))


def _site_packages(venv: Path) -> Path:
    return (
        venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )


def build_venv(venv: Path, *options: str, link_packages: bool = True) -> Path:
    """`python -m venv` at `venv`, this environment's packages hard-linked in (or, without
    `link_packages`, reached through a .pth file); returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", *options, str(venv)],
        check=True,
        capture_output=True,
    )
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = _site_packages(venv)
    if link_packages:
        done = subprocess.run(
            ["cp", "-al", f"{ours}/.", f"{theirs}/"], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot hard-link {ours} into {venv}: {done.stderr[-300:]}")
    else:
        (theirs / "facekit-test-extra.pth").write_text(f"{ours}\n{REPO_ROOT}\n")
    return venv / "bin" / "python"


def _default(root: Path) -> Path:
    return build_venv(root / "venv")


def _copies(root: Path) -> Path:
    return build_venv(root / "venv", "--copies")


def _fresh_folder(parent: Path | str, prefix: str) -> Path:
    """A new folder with the mode `python -m venv` gives one (mkdtemp's 0700 would keep the
    sandbox's user id out, as it would for a TA whose umask is 077)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o755)
    return folder


def _inside_the_checkout(root: Path) -> Path:
    return build_venv(_fresh_folder(REPO_ROOT, ".venv-facekit-test-"))


def _under_tmp(root: Path) -> Path:
    return build_venv(_fresh_folder("/tmp", "facekit-venv-"))


def _packages_from_a_pth_file(root: Path) -> Path:
    return build_venv(root / "venv", link_packages=False)


VENV_KINDS = [_default, _copies, _inside_the_checkout, _under_tmp, _packages_from_a_pth_file]


@pytest.fixture(params=VENV_KINDS, ids=lambda kind: kind.__name__.strip("_"))
def venv_python(request):
    """A fresh venv of each kind; outside the checkout and /tmp unless the kind says otherwise
    (/var/tmp: the sandbox replaces /tmp and hides the checkout, which is the point)."""
    root = Path(tempfile.mkdtemp(prefix="facekit-venvs-", dir="/var/tmp"))
    python = request.param(root)
    yield python
    shutil.rmtree(python.parent.parent, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_every_kind_of_venv_grades_the_reference_fully(venv_python, tmp_path, missing_required):
    """From each kind of venv: is the worker the grader's (prefix, path, reach, no solutions/),
    and does `facekit grade` give the reference 100 through the real sandbox?"""
    check_worker_is_the_graders(venv_python)
    out = tmp_path / "out"
    weaker = [f"--allow-weaker-sandbox={','.join(missing_required)}"] if missing_required else []
    completed = subprocess.run(
        [str(venv_python), "-m", "facekit", "grade", str(SOLUTION_NOTEBOOK), "--out", str(out)]
        + weaker,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    log = pd.read_csv(out / "batch_log.csv").iloc[0]
    assert log["total"] == log["max_total"] == 100, log["reason"]
