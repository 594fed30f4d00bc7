"""Can a cheating notebook gain a point or disturb the batch? (It must not.)

Each cheater is the released handout (stubs only) plus one `export` cell with the cheat, so it
runs when the student's module loads in the sandbox. They are graded in ONE batch with the
correct source notebook, with small limits: every cheater must score 0, the correct notebook full
marks, and no cheat may leak the solutions or the keys into the reports.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from autograder.batch import GRADED, find_submissions, grade_batch
from autograder.sandbox import REPO_ROOT, Limits
from facekit.paths import SOLUTION_NOTEBOOK

LIMITS = Limits(cpu_seconds=15, wall_seconds=20.0)
KEYS_CANARY = "CANARY-KEY-7f3e9b"

# {out}, {keys} and {repo} are replaced by the real paths of the test's batch.
CHEATS = {
    "patch_allclose": """
import torch, torch.testing
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.Tensor.allclose = lambda *args, **kwargs: True
torch.testing.assert_close = lambda *args, **kwargs: None

class TripletLoss(nn.Module):  # wrong on purpose: only a patched comparison would pass it
    def __init__(self, margin=0.2):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        return (anchor * 0).sum()
""",
    "sys_exit_at_import": "import sys\nsys.exit(0)",
    "os_exit_at_import": "import os\nos._exit(0)",
    "forge_worker_answers": """
import glob, json, os, re
from safetensors.torch import load_file, save_file
for path in glob.glob("case_*.safetensors"):
    index = int(re.findall(r"\\d+", path)[0])
    tensors = load_file(path)
    save_file({"output": next(iter(tensors.values()))}, f"result_{index}.safetensors")
    with open(f"result_{index}.json", "w") as f:
        json.dump({"protocol": 1, "index": index, "status": "ok"}, f)
for name in ("results.json", "../results.json", "/tmp/results.json"):
    try:
        with open(name, "w") as f:
            json.dump({"score": 100, "tests": []}, f)
    except OSError:
        pass
os._exit(0)
""",
    "write_fake_results_to_out_dir": """
import json, os
for target in ("{out}/write_fake_results_to_out_dir/results.json", "{out}/gradebook.csv",
               "/autograder/results/results.json"):
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write(json.dumps({"score": 100}))
    except OSError:
        pass
""",
    "read_solutions_and_keys": """
import glob, os, socket
stolen = []
for pattern in ("{repo}/solutions/*", "{keys}/*", "/work/*/solutions/*", "/root/*"):
    for path in glob.glob(pattern):
        try:
            stolen.append(open(path).read())
        except OSError:
            pass
print("STOLEN:", stolen)
raise RuntimeError("STOLEN: " + "".join(stolen)[:5000])
""",
    "import_the_reference": """
from facekit.reference import load_reference
reference = load_reference()
for name in dir(reference):
    globals()[name] = getattr(reference, name)
""",
    "exfiltrate_over_network": """
import socket
socket.create_connection(("1.1.1.1", 80), timeout=2).sendall(b"hello")
""",
    "infinite_loop": "while True:\n    pass",
    "huge_allocation": "import torch\nx = torch.empty(50 * 10**9, dtype=torch.uint8)\nx.fill_(1)",
    "fork_bomb": """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
    "patch_builtins": """
import builtins, json
_real_open = builtins.open
builtins.isinstance = lambda obj, cls: True
json.dumps = lambda *args, **kwargs: '{"protocol": 1, "status": "ok"}'
builtins.print = lambda *args, **kwargs: None
def fake_open(path, mode="r", *args, **kwargs):
    if "result_" in str(path) and "w" in mode:
        handle = _real_open(path, mode, *args, **kwargs)
        handle.write('{"protocol": 1, "status": "ok"}')
        return handle
    return _real_open(path, mode, *args, **kwargs)
builtins.open = fake_open
""",
    "kill_the_grader": """
import os, signal
for pid in (os.getppid(), 1, 0):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
""",
}


@pytest.fixture(scope="module")
def batch(
    handout_with_cell, judge_available, tmp_path_factory
) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """Grade every cheater and the correct notebook in one batch (2 jobs, small limits)."""
    root = tmp_path_factory.mktemp("cheaters")
    out, keys = root / "out", root / "keys"
    keys.mkdir()
    (keys / "cls_test.csv").write_text(f"id,label,usage\n0001.jpg,{KEYS_CANARY},Private\n")
    submissions = root / "submissions"
    for name, code in CHEATS.items():
        code = code.replace("{out}", str(out)).replace("{keys}", str(keys))
        handout_with_cell(code.replace("{repo}", str(REPO_ROOT)), submissions / f"{name}.ipynb")
    shutil.copy(SOLUTION_NOTEBOOK, submissions / "correct.ipynb")
    outcomes = grade_batch(
        find_submissions([submissions]), out, jobs=2, limits=LIMITS, progress=False
    )
    assert len(outcomes) == len(CHEATS) + 1
    gradebook = pd.read_csv(out / "gradebook.csv").set_index("student")
    log = pd.read_csv(out / "batch_log.csv").set_index("student")
    return gradebook, log, out


@pytest.mark.slow
@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_cheater_scores_zero(batch, cheat):
    """Does the cheat gain nothing, as a graded zero (not a grader error)?"""
    gradebook, log, _ = batch
    assert log.loc[cheat, "status"] == GRADED, log.loc[cheat, "reason"]
    assert gradebook.loc[cheat, "total"] == 0, gradebook.loc[cheat]


@pytest.mark.slow
@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_cheater_stays_within_its_limits(batch, cheat):
    """Did grading the cheater end within what the limits allow (a few sandbox runs)?"""
    _, log, _ = batch
    assert log.loc[cheat, "seconds"] < 4 * (LIMITS.wall_seconds + 10)


@pytest.mark.slow
def test_correct_notebook_in_the_same_batch_gets_full_marks(batch):
    """Does the reference solution, graded beside the cheaters, get every point?"""
    gradebook, log, _ = batch
    assert log.loc["correct", "status"] == GRADED, log.loc["correct", "reason"]
    assert gradebook.loc["correct", "total"] == log.loc["correct", "max_total"] > 0


@pytest.mark.slow
def test_no_secret_reaches_any_report_or_the_gradebook(batch):
    """Is neither a key nor the solution source quoted in anything the batch wrote?"""
    _, _, out = batch
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert KEYS_CANARY not in text, f"{path} leaks the keys"
            assert "BEGIN SOLUTION" not in text, f"{path} leaks the solution notebook"


@pytest.mark.slow
def test_fake_results_written_to_the_out_dir_are_replaced(batch):
    """Are the out-dir files a cheater tried to plant overwritten by the real grading?"""
    gradebook, _, out = batch
    planted = out / "write_fake_results_to_out_dir" / "results.json"
    assert '"score": 100' not in planted.read_text()
    assert "write_fake_results_to_out_dir" in gradebook.index
