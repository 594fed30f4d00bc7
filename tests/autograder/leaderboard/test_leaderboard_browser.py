"""The leaderboard in real headless Chromium (Debian's, driven by Playwright)."""

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facekit.base.contract import ARCFACE, BASIC_BLOCK, CENTER_LOSS, CLASSIFICATION, VERIFICATION

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path("/tmp")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module (each test gets its own page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(needs, request):
    needs(CHROMIUM is not None, "chromium not found; .ci/run installs Debian's chromium")
    context = request.getfixturevalue("chromium").new_context(
        viewport={"width": 1100, "height": 800}
    )
    yield context.new_page()
    context.close()


def test_upload_through_the_form_reaches_the_leaderboard(
    checked_backend, live_servers, submissions, page, tmp_path
):
    """Can a student upload through the page, see the score, then find their row?"""
    server = live_servers(checked_backend, "browser", ["zoe", "yan"], daily_limit=3)
    assert server.submit("yan", CLASSIFICATION, submissions.classification(8, 8))[0] == 200
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    good = tmp_path / "my_submission.csv"
    good.write_bytes(submissions.classification(13, 9))

    page.goto(f"{server.url}/submit")
    page.fill("#token", server.tokens["zoe"])
    page.select_option("#task", CLASSIFICATION)
    page.set_input_files("#file", str(good))
    page.click("button[type=submit]")
    result = page.locator(".result.ok")
    result.wait_for()
    assert "public accuracy: 0.65000" in result.inner_text()
    assert "2 submissions left today" in result.inner_text()
    page.screenshot(path=str(SCREENSHOTS / f"facekit_submit_{checked_backend}.png"), full_page=True)

    page.click("text=See the leaderboard")
    rows = page.locator("#classification tbody tr")
    assert rows.count() == 2
    public = {student: name for name, student in server.display_names().items()}
    assert rows.nth(0).locator("td").all_inner_texts()[:4] == ["1", public["zoe"], "0.65000", "1"]
    assert rows.nth(1).locator("td").all_inner_texts()[:4] == ["2", public["yan"], "0.40000", "1"]
    assert server.tokens["zoe"] not in page.content()
    page.screenshot(path=str(SCREENSHOTS / f"facekit_board_{checked_backend}.png"), full_page=True)

    # everything the pages load comes from the server itself: no CDN, no fonts from elsewhere
    assert requested and all(url.startswith(server.url) for url in requested)


def test_form_reports_problems_of_a_bad_file(checked_backend, live_servers, page, tmp_path):
    """Does the form show the file's problems, line by line, and keep the student's row off?"""
    server = live_servers(checked_backend, "browser", ["zoe", "yan"], daily_limit=3)
    bad = tmp_path / "oops.csv"
    bad.write_text("pair_id,score\n0,high\n")
    page.goto(f"{server.url}/submit")
    page.fill("#token", server.tokens["yan"])
    page.select_option("#task", VERIFICATION)
    page.set_input_files("#file", str(bad))
    page.click("button[type=submit]")
    assert page.locator("#task").input_value() == VERIFICATION
    problems = page.locator(".result.error .problems li").all_inner_texts()
    assert any(p.startswith("oops.csv, line 2, column 'score'") for p in problems), problems
    page.screenshot(
        path=str(SCREENSHOTS / f"facekit_problems_{checked_backend}.png"), full_page=True
    )


def test_student_page_history_choice_and_display_name(
    checked_backend, live_servers, submissions, page, tmp_path
):
    """Can a student sign in, see their late submissions, choose a final one and rename
    themselves, with only the new name on the public board?"""
    now = datetime.now(UTC)
    course = tmp_path / "course.toml"
    course.write_text(
        "[leaderboard]\nfinal_submissions = 2\n\n[phases.final]\n"
        f"deadline = {(now - timedelta(hours=12)).isoformat()}\n"
        f"cutoff = {(now + timedelta(days=5)).isoformat()}\n\n"
        "[late]\ndays = 2\npenalty_per_day = 0.1\n"
    )
    server = live_servers(checked_backend, "me", ["xia", "wu"], 5, "--course", str(course))
    ids = []
    for public, private in [(8, 16), (14, 6)]:
        status, reply = server.submit(
            "xia", CLASSIFICATION, submissions.classification(public, private)
        )
        assert (status, reply["late_days"]) == (200, 1)
        ids.append(reply["submission_id"])
    assert server.submit("wu", CLASSIFICATION, submissions.classification(10, 10))[0] == 200

    page.goto(f"{server.url}/me")
    page.fill("#token", server.tokens["xia"])
    page.click("button[type=submit]")
    rows = page.locator("#classification tbody tr")
    assert rows.count() == 2
    texts = [rows.nth(i).locator("td").all_inner_texts() for i in range(2)]
    assert [t[1] for t in texts] == [str(ids[1]), str(ids[0])]  # newest first
    assert [t[3] for t in texts] == ["0.70000", "0.40000"]
    assert all(t[4] == "1 day late" for t in texts)
    assert server.tokens["xia"] not in page.content() and "token=" not in page.url

    page.check(f"input[name=submission][value='{ids[0]}']")
    page.click("#classification button[type=submit]")
    assert (
        "Saved: 1 final classification submission(s) chosen."
        in page.locator(".result.ok").inner_text()
    )
    assert page.is_checked(f"input[name=submission][value='{ids[0]}']")
    assert not page.is_checked(f"input[name=submission][value='{ids[1]}']")

    page.fill("#display_name", "Night <b>Owl</b>")
    page.click("form[action='/me/name'] button")
    assert page.locator("#display-name").inner_text() == "Night <b>Owl</b>"
    page.screenshot(path=str(SCREENSHOTS / f"facekit_me_{checked_backend}.png"), full_page=True)

    status, me = server.request("GET", "/api/me", token=server.tokens["xia"])
    chosen = [s["submission_id"] for s in json.loads(me)["submissions"] if s["chosen"]]
    assert chosen == [ids[0]]
    page.goto(server.url)
    names = page.locator("#classification tbody tr td:nth-child(2)").all_inner_texts()
    assert "Night <b>Owl</b>" in names and "xia" not in names and "wu" not in names


def test_released_feedback_page(checked_backend, live_servers, page, tmp_path):
    """Does a student reach their released feedback from their page, escaped, with the
    tests that are not visible yet left out?"""
    from autograder.judge.report import CaseResult, ComponentResult, StudentReport
    from facekit.cli.main import main as facekit_main

    server = live_servers(checked_backend, "feedback", ["uma", "vic"], 5)
    margin = CaseResult(
        "margin", 0, 12, "ran s=64, m=0.5",
        problems=("logits differ: wrong sign of m",), hints=("arcface.cosine_margin",),
    )  # fmt: skip
    components = (
        ComponentResult(BASIC_BLOCK, "BasicBlock", (CaseResult("shapes", 8, 8, "ran"),)),
        ComponentResult(ARCFACE, "ArcFace", (margin,)),
        ComponentResult(CENTER_LOSS, "CenterLoss", (CaseResult("hidden", 6, 6, "ran"),)),
    )
    StudentReport("uma.ipynb", components, ("note: <b>bold</b> kept as text",)).write(
        tmp_path / "grades" / "uma"
    )
    results_path = tmp_path / "grades" / "uma" / "results.json"
    results = json.loads(results_path.read_text())
    results["tests"][2]["visibility"] = "after_published"
    results_path.write_text(json.dumps(results))
    command = ["leaderboard", "release-feedback", "--db", server.db_url, "--grades",
               str(tmp_path / "grades"), "--details-from", "2999-01-01T00:00Z"]  # fmt: skip
    assert facekit_main(command) == 0

    page.goto(f"{server.url}/me")
    page.fill("#token", server.tokens["uma"])
    page.click("button[type=submit]")
    page.click("text=My grading feedback")
    assert page.locator("#total").inner_text() == "14 / 26"
    assert page.locator("#notes").inner_text() == "note: <b>bold</b> kept as text"
    titles = page.locator("section.test h2").all_inner_texts()
    assert [t.split("\n")[0] for t in titles] == [
        "BasicBlock (basic_block) 8 / 8",
        "ArcFace (arcface) 0 / 12",
    ]
    assert "wrong sign of m" in page.content() and "CenterLoss" not in page.content()
    assert (
        "1 more test will be shown from 2999-01-01 00:00 UTC"
        in page.locator("#summary").inner_text()
    )
    page.screenshot(
        path=str(SCREENSHOTS / f"facekit_feedback_{checked_backend}.png"), full_page=True
    )
