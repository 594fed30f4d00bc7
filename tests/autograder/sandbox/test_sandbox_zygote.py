"""Does a warm run (a fork of the zygote) get the full sandbox, and can one student's run leave
anything behind for the next? (Issue 15 item 1.)"""

import concurrent.futures
import json
import os
import shutil

import pytest

from autograder.sandbox import REQUIRED_PROTECTIONS, Limits, isolation_report, run_sandboxed
from autograder.sandbox_zygote import Zygote
from facekit.sandbox_side import judge_worker

# A student's module that tries to leave something behind for the next notebook.
LEAVE_BEHIND = r"""
import builtins, os, random, subprocess, sys, threading, time, types
import torch

builtins.LEFT_BEHIND = "attacker"
sys.modules["left_behind"] = types.ModuleType("left_behind")
torch.LEFT_BEHIND = True
torch.set_default_dtype(torch.float64)
torch.manual_seed(1234)
random.seed(1234)
os.environ["LEFT_BEHIND"] = "1"
with open("/tmp/left_behind.txt", "w") as handle:
    handle.write("attacker")
if os.path.isdir("/dev/shm"):
    with open("/dev/shm/left_behind", "w") as handle:
        handle.write("attacker")
kept = os.open("/tmp/left_behind.txt", os.O_RDONLY)
os.set_inheritable(kept, True)
threading.Thread(target=time.sleep, args=(600,)).start()  # non-daemon: outlives the module
threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
if os.fork() == 0:
    os.setsid()
    time.sleep(600)
    os._exit(0)
subprocess.Popen(["sleep", "600"], start_new_session=True)
"""

# A student's module that writes down everything of the process it can see.
OBSERVE = r"""
import builtins, json, os, random, sys, threading
import torch

seen = {
    "builtins": hasattr(builtins, "LEFT_BEHIND"),
    "module": "left_behind" in sys.modules,
    "torch_attribute": hasattr(torch, "LEFT_BEHIND"),
    "default_dtype": str(torch.get_default_dtype()),
    "environment": "LEFT_BEHIND" in os.environ,
    "tmp": sorted(os.listdir("/tmp")),
    "shm": sorted(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else [],
    "work_folder": sorted(os.listdir(".")),
    "threads": threading.active_count(),
    "tasks": len(os.listdir("/proc/self/task")),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "descriptors": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "random": random.random(),
    "torch_random": torch.rand(1).item(),
    "initial_seed": torch.initial_seed(),
}
with open("observed.json", "w") as handle:
    handle.write(json.dumps(seen))
"""
RANDOM_KEYS = ("random", "torch_random", "initial_seed")


def limits() -> Limits:
    """Small limits, accepting the protections this machine lacks for this user (as
    --allow-weaker-sandbox would): the warm run must match the cold one either way."""
    report = isolation_report()
    missing = tuple(name for name in REQUIRED_PROTECTIONS if not report[name])
    return Limits(cpu_seconds=20, wall_seconds=20.0, allow_weaker=missing)


@pytest.fixture(scope="module")
def zygote():
    """One zygote for the module's runs, as one batch process has."""
    with Zygote.start() as started:
        yield started


def run_module(source: str, workdir, zygote: Zygote | None):
    """Run `source` as a student's module in the judge worker (no cases), warm or cold."""
    workdir.mkdir()
    shutil.copy2(judge_worker.__file__, workdir / "worker_main.py")
    cells = [{"label": "cell", "source": source}]
    (workdir / "student_cells.json").write_text(json.dumps(cells))
    request = {"protocol": judge_worker.PROTOCOL_VERSION, "case_seconds": 10, "cases": []}
    (workdir / "request.json").write_text(json.dumps(request))
    return run_sandboxed(workdir / "worker_main.py", workdir, limits(), ["0"], zygote=zygote)


def observe(workdir, zygote: Zygote | None) -> dict:
    result = run_module(OBSERVE, workdir, zygote)
    assert result.ok and result.ready, result.failure_reason()
    seen = json.loads((workdir / "observed.json").read_text())
    seen["memory_peak_known"] = result.memory_peak_bytes is not None
    return seen


@pytest.mark.slow
def test_a_warm_run_gets_every_protection_a_cold_run_gets(zygote):
    """Does a run forked from the zygote report the same protections as the cold probe?"""
    zygote._probe()  # raises ZygoteError naming any protection the warm run lacks


@pytest.mark.slow
def test_nothing_one_run_leaves_reaches_the_next(zygote, tmp_path):
    """After a run that leaves globals, files in /tmp and /dev/shm, threads, a child process, an
    open descriptor, a changed torch dtype and seeds, does the next run see exactly what a run
    before it saw (and fresh random streams)?"""
    before = observe(tmp_path / "before", zygote)
    attack = run_module(LEAVE_BEHIND, tmp_path / "attack", zygote)
    assert attack.timed_out  # its non-daemon thread kept it alive, as in a fresh interpreter
    after = observe(tmp_path / "after", zygote)
    assert {k: v for k, v in after.items() if k not in RANDOM_KEYS} == {
        k: v for k, v in before.items() if k not in RANDOM_KEYS
    }
    assert not after["builtins"] and not after["module"] and not after["torch_attribute"]
    assert after["default_dtype"] == "torch.float32" and not after["environment"]
    assert "left_behind.txt" not in after["tmp"] and "left_behind" not in after["shm"]
    assert after["processes"] == [1] and after["tasks"] == 1
    for key in RANDOM_KEYS:
        assert after[key] != before[key], f"{key} repeats from one run to the next"


@pytest.mark.slow
def test_a_warm_run_sees_what_a_cold_run_sees(zygote, tmp_path):
    """Does the student's module see the same process (files, threads, descriptors, dtype) warm
    as cold?"""
    warm = observe(tmp_path / "warm", zygote)
    cold = observe(tmp_path / "cold", None)
    for key in RANDOM_KEYS + ("work_folder",):
        warm.pop(key), cold.pop(key)
    assert warm == cold


@pytest.mark.slow
def test_a_run_that_kills_its_parents_leaves_the_zygote_serving(zygote, tmp_path):
    """Does a run that signals its parent, PID 1 and its process group leave the zygote alive
    and the next run served warm?"""
    attack = "import os, signal\nfor pid in (os.getppid(), 1, 0, -1):\n"
    attack += "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
    run_module(attack, tmp_path / "attack", zygote)
    assert zygote.alive
    observe(tmp_path / "after", zygote)
    assert zygote.alive


@pytest.mark.slow
def test_a_zygote_that_died_leaves_the_run_to_the_cold_path(tmp_path):
    """When the zygote is gone, does the run still happen, cold?"""
    dead = Zygote.start()
    dead.close()
    seen = observe(tmp_path / "cold", dead)
    assert seen["default_dtype"] == "torch.float32"


@pytest.mark.slow
def test_clones_serve_runs_at_once_as_their_zygote_does(zygote, tmp_path):
    """Do two clones of the zygote run students' modules at the same time, each seeing what a
    run of the zygote itself sees?"""
    clones = [zygote.clone(), zygote.clone()]
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            seen = list(
                pool.map(lambda i: observe(tmp_path / f"clone{i}", clones[i]), range(len(clones)))
            )
        seen.append(observe(tmp_path / "zygote", zygote))
        for observed in seen:
            for key in RANDOM_KEYS + ("work_folder",):
                observed.pop(key)
        assert seen[0] == seen[1] == seen[2]
        assert all(clone.alive for clone in clones)
    finally:
        for clone in clones:
            clone.close()


@pytest.mark.slow
def test_a_closed_clone_is_gone_and_its_zygote_still_serves(zygote, tmp_path):
    """After a clone is closed, is it no longer alive, and does its zygote serve the next run
    warm?"""
    clone = zygote.clone()
    clone.close()
    assert not clone.alive
    observe(tmp_path / "after", zygote)
    assert zygote.alive


def test_the_zygote_script_lies_in_the_sandbox_side():
    """Is the zygote's file beside the launcher, in facekit/sandbox_side?"""
    from autograder.sandbox_zygote import ZYGOTE_SCRIPT

    assert ZYGOTE_SCRIPT.is_file() and ZYGOTE_SCRIPT.parent.name == "sandbox_side"
    assert os.path.samefile(ZYGOTE_SCRIPT.parent, os.path.dirname(judge_worker.__file__))
