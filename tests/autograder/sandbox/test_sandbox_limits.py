"""Does a sandboxed run report its outcome faithfully and stop at every limit?"""

import dataclasses
import os
import time

import pytest

from autograder.sandbox import OUTPUT_KEEP_CHARS, Limits, SandboxResult


def test_clean_run_reports_output_and_leaves_files_for_the_caller(run_snippet, workdir):
    """Is a successful run's stdout returned and its output file readable afterwards?"""
    result = run_snippet(
        """
        import sys
        print("hello", sys.argv[1:])
        open("answer.json", "w").write('{"x": 1}')
        """,
        args=("a", "b"),
    )
    assert result.returncode == 0 and not result.timed_out, result
    assert result.failure_reason() is None
    assert result.stdout.strip() == "hello ['a', 'b']"
    assert "facekit-sandbox-usage" not in result.stderr  # the launcher's own line is removed
    assert (workdir / "answer.json").read_text() == '{"x": 1}'


def test_nonzero_exit_reason_quotes_the_end_of_stderr(run_snippet):
    """Does the failure reason give the exit code and the traceback's last line?"""
    result = run_snippet("raise ValueError('the student broke it')")
    assert result.returncode == 1
    reason = result.failure_reason()
    assert reason.startswith("exited with code 1") and "the student broke it" in reason


def test_infinite_loop_is_killed_at_the_wall_clock_limit(run_snippet, small_limits):
    """Is a sleeping script (no CPU use) stopped at the wall-clock limit?"""
    limits = dataclasses.replace(small_limits, wall_seconds=1.5)
    result = run_snippet("import time\nwhile True: time.sleep(1)", limits=limits)
    assert result.timed_out and result.returncode is None
    assert result.failure_reason() == "ran past the 1.5 s wall-clock limit"
    assert result.wall_seconds < 1.5 + 5


def test_busy_loop_is_killed_at_the_cpu_limit(run_snippet, small_limits):
    """Is a CPU-bound loop killed by the CPU-time limit before the wall-clock limit?"""
    limits = dataclasses.replace(small_limits, cpu_seconds=1, wall_seconds=20.0)
    result = run_snippet("while True: pass", limits=limits)
    assert not result.timed_out and result.returncode == -9, result
    assert "CPU-time limit" in result.failure_reason()


def test_huge_allocation_fails_inside_the_sandbox(run_snippet):
    """Does a 50 GB allocation fail with MemoryError instead of exhausting the machine?"""
    result = run_snippet("x = bytearray(50 * 10**9)")
    assert result.returncode == 1 and "MemoryError" in result.stderr, result


def test_fork_bomb_stops_at_the_process_limit(run_snippet, protection, small_limits):
    """Does a fork bomb hit the process limit and die with the run, within the wall limit?"""
    protection("process_limit")
    limits = dataclasses.replace(small_limits, wall_seconds=4.0, max_processes=16)
    start = time.monotonic()
    result = run_snippet(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        limits=limits,
    )
    assert result.failure_reason() is not None
    assert time.monotonic() - start < 4.0 + 6


def test_file_size_limit_caps_a_written_file(run_snippet, workdir, small_limits):
    """Is a file written by the script capped at max_file_bytes?"""
    limits = dataclasses.replace(small_limits, max_file_bytes=2**20)
    result = run_snippet(
        """
        with open("big.bin", "wb") as f:
            f.write(b"x" * (4 * 2**20))
        """,
        limits=limits,
    )
    assert result.failure_reason() is not None
    assert (workdir / "big.bin").stat().st_size <= 2**20


def test_runaway_output_is_truncated_keeping_head_and_tail(run_snippet):
    """Is a flood of output bounded, keeping its first and last lines?"""
    result = run_snippet(
        """
        print("FIRST")
        for _ in range(200_000):
            print("spam spam spam spam")
        print("LAST")
        """
    )
    assert result.returncode == 0
    assert len(result.stdout) < OUTPUT_KEEP_CHARS + 200
    assert result.stdout.startswith("FIRST") and result.stdout.rstrip().endswith("LAST")
    assert "bytes of output omitted" in result.stdout


def test_stdin_is_closed(run_snippet):
    """Does reading stdin end immediately instead of waiting for input?"""
    result = run_snippet("print(repr(input()))")
    assert "EOFError" in result.stderr


def test_environment_is_scrubbed(run_snippet, workdir, monkeypatch):
    """Are the caller's variables (secrets, FACEKIT_*) absent and the GPU hidden by default?"""
    monkeypatch.setenv("FACEKIT_KEYS_DIR", "/secret/keys")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    result = run_snippet(
        """
        import json, os
        print(json.dumps(dict(os.environ)))
        """
    )
    env = __import__("json").loads(result.stdout)
    assert "FACEKIT_KEYS_DIR" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["HOME"] == str(workdir.resolve()) and env["OMP_NUM_THREADS"] == "1"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (SandboxResult(0, False, "", "", 1.0, 10.0), None),
        (SandboxResult(None, True, "", "", 10.0, 10.0), "ran past the 10 s wall-clock limit"),
        (SandboxResult(-9, False, "", "", 1.0, 10.0), "killed by signal 9 (SIGKILL)"),
        (SandboxResult(-11, False, "", "", 1.0, 10.0), "killed by signal 11 (SIGSEGV)"),
        (SandboxResult(2, False, "", "a\nb\n", 1.0, 10.0), "exited with code 2: a\nb"),
    ],
)
def test_failure_reason_wording(result, expected):
    """Does each way of failing get a sentence that names it?"""
    reason = result.failure_reason()
    assert reason == expected or reason.startswith(expected)


def test_limits_reject_non_positive_values():
    """Is a zero or negative limit an error that names the field?"""
    with pytest.raises(ValueError, match="wall_seconds must be positive, got 0"):
        Limits(wall_seconds=0)


def test_workdir_must_exist(tmp_path, small_limits):
    """Is a missing workdir a clear error (a grader fault, not the student's)?"""
    from autograder.sandbox import run_sandboxed

    with pytest.raises(FileNotFoundError, match="not a directory"):
        run_sandboxed(tmp_path / "x.py", tmp_path / "missing", small_limits)
    assert not os.path.exists(tmp_path / "missing")
