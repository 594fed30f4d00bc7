"""Can a cheating notebook gain a point or disturb the batch? (It must not.)

Each cheater (a cheat of the corpus: cheaters/<name>.py, see tests/autograder/conftest.py) is the
released handout (stubs only) plus one `export` cell with the cheat, so it runs when the student's
module loads in the sandbox. They are graded in ONE batch with the correct source notebook and the
broken notebooks, with small limits: every cheater must score 0, the correct notebook full marks,
and no cheat may leak the solutions or the keys.
"""

import pytest

from autograder.batch import GRADED


@pytest.mark.slow
def test_cheater_scores_zero(graded_corpus, cheat):
    """Does the cheat gain nothing, as a graded zero (not a grader error)?"""
    gradebook, log = graded_corpus.gradebook, graded_corpus.log
    assert log.loc[cheat, "status"] == GRADED, log.loc[cheat, "reason"]
    assert gradebook.loc[cheat, "total"] == 0, gradebook.loc[cheat]


@pytest.mark.slow
def test_cheater_stays_within_its_limits(graded_corpus, cheat):
    """Did grading the cheater end within what the limits allow (a few sandbox runs)?"""
    log = graded_corpus.log
    assert log.loc[cheat, "seconds"] < 4 * (graded_corpus.limits.wall_seconds + 10)


@pytest.mark.slow
def test_correct_notebook_in_the_same_batch_gets_full_marks(graded_corpus):
    """Does the reference solution, graded beside the cheaters, get every point?"""
    gradebook, log = graded_corpus.gradebook, graded_corpus.log
    assert log.loc["correct", "status"] == GRADED, log.loc["correct", "reason"]
    assert gradebook.loc["correct", "total"] == log.loc["correct", "max_total"] > 0


@pytest.mark.slow
def test_no_secret_reaches_any_report_or_the_gradebook(graded_corpus, cheat_names):
    """Is neither a key nor the solution source quoted in anything the batch wrote?"""
    for path in graded_corpus.out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert graded_corpus.keys_canary not in text, f"{path} leaks the keys"
            if path.parent.name in cheat_names:  # other students submitted the source itself
                assert "BEGIN SOLUTION" not in text, f"{path} leaks the solution notebook"


@pytest.mark.slow
def test_fake_results_written_to_the_out_dir_are_replaced(graded_corpus):
    """Are the out-dir files a cheater tried to plant overwritten by the real grading?"""
    gradebook, out = graded_corpus.gradebook, graded_corpus.out
    planted = out / "write_fake_results_to_out_dir" / "results.json"
    assert '"score": 100' not in planted.read_text()
    assert "write_fake_results_to_out_dir" in gradebook.index
