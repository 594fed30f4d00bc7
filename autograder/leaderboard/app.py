"""The leaderboard web app (Flask): pages for people, a JSON API for scripts, staff routes.

Routes: `GET /` leaderboard page (public names only), `GET|POST /submit` upload form,
`POST /api/submit/<task>` (bearer token + multipart field `file`), `GET /api/leaderboard/<task>`.
Student page (signed in with the token, kept as its hash in a SameSite=Strict session cookie):
`GET /me`, `POST /me/login|logout|finals|name`, `GET /me/feedback`; the same as JSON with the
bearer token: `GET /api/me`, `POST /api/me/finals`, `POST /api/me/name`, `GET /api/me/feedback`.
Staff-only (bearer staff token): `POST /api/staff/deadline`, `GET /api/staff/export[?details=1]`,
`GET /api/staff/participants`, `GET /api/staff/submissions` (every submission, JSON) and
`GET /api/staff/submissions/<id>/file` (its kept file). Tokens travel only in the
`Authorization` header or a form body; the access log records method, path and status (control
characters escaped), never headers, bodies or query strings.
"""

import hmac
import logging
import secrets
from dataclasses import fields
from datetime import datetime, timedelta

from flask import (
    Flask,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.utils import secure_filename

from autograder.leaderboard.archive import Archive, NotStored, StaffSubmissionView
from autograder.leaderboard.config import LeaderboardConfig
from autograder.leaderboard.course import load_course
from autograder.leaderboard.errors import DeadlinePassed, LeaderboardError
from autograder.leaderboard.feedback import FeedbackDesk, ShownFeedback, ShownTest, shown_feedback
from autograder.leaderboard.models import open_database
from autograder.leaderboard.ratelimit import InvalidAttempts
from autograder.leaderboard.store import (
    DailyLimitReached,
    LeaderboardStore,
    Receipt,
    Standings,
    SubmissionRefused,
    UnknownToken,
    Upload,
    UploadTooLarge,
    final_scores_csv,
    parse_utc_time,
    utc_now,
)
from autograder.leaderboard.students import (
    ChoiceRefused,
    Profile,
    StudentDesk,
    StudentSubmissionView,
)
from autograder.leaderboard.tokens import hash_token
from autograder.leaderboard.uploads import read_upload, too_large_message, upload_limit
from autograder.scoring import (
    TASKS,
    InvalidSubmission,
    KeysError,
    load_keys,
    parse_submission,
    score_parsed,
)
from facekit.base.errors import SetupError

log = logging.getLogger("autograder.leaderboard")


class UnknownTask(SubmissionRefused):
    pass


class BadRequest(SubmissionRefused):
    pass


class TooManyInvalid(SubmissionRefused):
    pass


REFUSAL_STATUS = {
    UnknownToken: 401,
    DeadlinePassed: 403,
    UnknownTask: 404,
    UploadTooLarge: 413,
    DailyLimitReached: 429,
    TooManyInvalid: 429,
}
# Room for the multipart envelope and form fields around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise UnknownTask(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    return task


def _bearer_token() -> str | None:
    auth = request.authorization
    return auth.token if auth is not None and auth.type == "bearer" else None


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _standings_json(standings: Standings, metric: str) -> dict:
    return {
        "task": standings.task,
        "metric": metric,
        "deadline": _time(standings.deadline),
        "revealed": standings.revealed,
        "rows": [
            {
                "rank": row.rank,
                "name": row.name,
                "public": row.public,
                "count": row.count,
                "last_submission": _time(row.last_submission),
                **(
                    {"private": row.private, "private_rank": row.private_rank}
                    if standings.revealed
                    else {}
                ),
            }
            for row in standings.rows
        ],
    }


def _view_json(view: Receipt | StaffSubmissionView | StudentSubmissionView | ShownTest) -> dict:
    """Every field of a view, in order, moments as ISO 8601 (the view says what may be shown)."""
    values = {field.name: getattr(view, field.name) for field in fields(view)}
    return {name: _time(v) if isinstance(v, datetime) else v for name, v in values.items()}


def _profile_json(profile: Profile) -> dict:
    return {
        "name": profile.name,
        "display_name": profile.display_name,
        "final_submissions": profile.final_submissions,
        "deadline": _time(profile.schedule.deadline),
        "cutoff": _time(profile.schedule.cutoff),
        "late_days_allowed": profile.schedule.late_days_allowed,
        "submissions": [_view_json(s) for s in profile.submissions],
    }


def _feedback_json(shown: ShownFeedback) -> dict:
    return {
        "score": shown.score,
        "max_score": shown.max_score,
        "output": shown.output,
        "tests": [_view_json(t) for t in shown.tests],
        "pending": shown.pending,
        "pending_from": [_time(t) for t in shown.pending_from],
        "hidden": shown.hidden,
        "released_at": _time(shown.released_at),
    }


def _error_json(message: str, status: int, **extra) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def create_app(config: LeaderboardConfig) -> Flask:
    """The WSGI app for `config`; opens the database, creating its tables on first use."""
    try:  # loaded once: start-up fails on broken keys, and uploads skip re-reading them
        keys = {task: load_keys(task, config.keys_dir) for task in TASKS}
    except KeysError as error:
        raise SetupError(str(error)) from error
    course = load_course(config.course_file)
    metric_names = {task: metric.name for task, metric in course.metrics.items()}
    engine = open_database(config.db_url, pool_size=config.threads)
    store = LeaderboardStore(engine, course=course)
    archive = Archive(engine)
    desk = StudentDesk(store)
    feedback_desk = FeedbackDesk(engine)
    invalid_attempts = InvalidAttempts(
        config.invalid_limit, timedelta(minutes=config.invalid_window_minutes), utc_now
    )
    limits = {task: upload_limit(keys[task], config.max_upload_bytes) for task in TASKS}
    app = Flask(__name__)
    # The form does not name its task before the body is read: the larger limit bounds it.
    app.config["MAX_CONTENT_LENGTH"] = max(limits.values()) + FORM_OVERHEAD_BYTES
    # The student page's session cookie holds only the token's hash; a restart signs people out.
    app.secret_key = secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")
    app.jinja_env.filters["utc"] = lambda m: m.strftime("%Y-%m-%d %H:%M UTC") if m else ""

    def submit(token: str | None, task: str, upload) -> Receipt:
        """Authenticate, validate, score, then store in one transaction (see store.record)."""
        _check_task(task)
        if not token:
            raise UnknownToken("missing token: send 'Authorization: Bearer <your token>'")
        participant_id = store.authenticate(token)
        if (until := invalid_attempts.blocked_until(participant_id)) is not None:
            raise TooManyInvalid(
                f"too many invalid uploads: {config.invalid_limit} within "
                f"{config.invalid_window_minutes} minutes; the next is read from "
                f"{until.isoformat(timespec='seconds')}"
            )
        if upload is None or not upload.filename:
            raise BadRequest("no file: upload the CSV in the multipart field 'file'")
        filename = secure_filename(upload.filename) or "submission.csv"
        try:
            data = read_upload(upload.stream, keys[task], filename, config.max_upload_bytes)
            parsed = parse_submission(keys[task], data, filename=filename, max_bytes=len(data))
        except (InvalidSubmission, UploadTooLarge):
            invalid_attempts.add(participant_id)
            raise
        score = score_parsed(keys[task], parsed, course.metrics[task])
        receipt = store.record(participant_id, Upload(filename, data), score, config.daily_limit)
        log.info("accepted submission %d (%s)", receipt.submission_id, task)
        return receipt

    def page(template: str, status: int = 200, **context) -> tuple[str, int]:
        return render_template(
            template, title=config.title, tasks=TASKS, daily_limit=config.daily_limit, **context
        ), status

    @app.before_request
    def task_upload_limit() -> None:
        task = (request.view_args or {}).get("task")
        if request.endpoint == "submit_api" and task in limits:
            request.max_content_length = limits[task] + FORM_OVERHEAD_BYTES

    def limit_message() -> str:
        task = (request.view_args or {}).get("task")
        if task in limits:
            return too_large_message(keys[task], limits[task])
        return f"upload too large: the limit is {max(limits.values())} bytes"

    @app.after_request
    def access_log(response: Response) -> Response:
        # request.path carries no query string; headers and bodies (tokens) are never logged.
        log.info(
            "%s %s %s %d", request.remote_addr, request.method, request.path, response.status_code
        )
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if isinstance(error, RequestEntityTooLarge):
            message = limit_message()
        else:
            message = f"{error.name}: {error.description}"
        if request.path.startswith("/api/"):
            return _error_json(message, error.code or 500)
        if request.path == "/submit":
            return page("submit.html", error.code or 500, error=message)
        return error

    @app.errorhandler(SubmissionRefused)
    def refused(error: SubmissionRefused):
        status = REFUSAL_STATUS.get(type(error), 400)
        if request.path.startswith("/api/"):
            return _error_json(str(error), status)
        return page("submit.html", status, error=str(error))

    @app.errorhandler(InvalidSubmission)
    def invalid(error: InvalidSubmission):
        problems = [str(problem) for problem in error.problems]
        message = f"invalid submission: {error.count} problem(s)"
        if request.path.startswith("/api/"):
            return _error_json(message, 400, problems=problems, omitted=error.omitted)
        return page("submit.html", 400, error=message, problems=str(error).splitlines())

    @app.get("/")
    def leaderboard_page():
        boards = [store.standings(task) for task in TASKS]
        deadline = boards[0].deadline
        return page(
            "leaderboard.html",
            boards=boards,
            metrics=metric_names,
            deadline=deadline,
            revealed=boards[0].revealed,
            late_window=deadline is not None and store.now() >= deadline,
        )

    @app.route("/submit", methods=["GET", "POST"])
    def submit_page():
        if request.method == "GET":
            return page("submit.html")
        receipt = submit(
            request.form.get("token", "").strip(),
            request.form.get("task", ""),
            request.files.get("file"),
        )
        return page("submit.html", receipt=receipt)

    @app.post("/api/submit/<task>")
    def submit_api(task: str):
        return jsonify(_view_json(submit(_bearer_token(), task, request.files.get("file"))))

    @app.get("/api/leaderboard/<task>")
    def leaderboard_api(task: str):
        task = _check_task(task)
        return jsonify(_standings_json(store.standings(task), metric_names[task]))

    def page_participant() -> int | None:
        """The participant signed in on the student page (None if nobody, or a reset token)."""
        token_hash = session.get("token_hash")
        return None if not token_hash else desk.participant_for_hash(token_hash)

    def api_participant() -> int:
        token = _bearer_token()
        if not token:
            raise UnknownToken("missing token: send 'Authorization: Bearer <your token>'")
        return store.authenticate(token)

    @app.errorhandler(ChoiceRefused)
    def choice_refused(error: ChoiceRefused):
        if request.path.startswith("/api/"):
            return _error_json(str(error), 400)
        flash(str(error), "error")
        return redirect(url_for("me_page"), 303)

    @app.get("/me")
    def me_page():
        participant_id = page_participant()
        profile = None if participant_id is None else desk.profile(participant_id)
        return page("me.html", profile=profile, metrics=metric_names)

    @app.post("/me/login")
    def me_login():
        token = request.form.get("token", "").strip()
        try:
            store.authenticate(token)
        except UnknownToken as error:
            flash(str(error), "error")
            return redirect(url_for("me_page"), 303)
        session["token_hash"] = hash_token(token)
        return redirect(url_for("me_page"), 303)

    @app.post("/me/logout")
    def me_logout():
        session.clear()
        return redirect(url_for("me_page"), 303)

    def signed_in() -> int:
        participant_id = page_participant()
        if participant_id is None:
            raise ChoiceRefused("please sign in with your token first")
        return participant_id

    @app.post("/me/finals")
    def me_finals():
        task = request.form.get("task", "")
        ids = [int(i) for i in request.form.getlist("submission") if i.isdigit()]
        chosen = desk.choose(signed_in(), task, ids)
        flash(f"Saved: {len(chosen)} final {task} submission(s) chosen.", "ok")
        return redirect(url_for("me_page"), 303)

    @app.post("/me/name")
    def me_name():
        name = desk.set_display_name(signed_in(), request.form.get("display_name", ""))
        flash(f"Your public name is now {name}.", "ok")
        return redirect(url_for("me_page"), 303)

    def my_feedback(participant_id: int) -> ShownFeedback | None:
        row = feedback_desk.feedback(participant_id)
        if row is None:
            return None
        return shown_feedback(row, store.now(), desk.schedule(participant_id).deadline)

    @app.get("/me/feedback")
    def me_feedback_page():
        participant_id = page_participant()
        if participant_id is None:
            return redirect(url_for("me_page"), 303)
        shown = my_feedback(participant_id)
        return page("feedback.html", 200 if shown else 404, feedback=shown)

    @app.get("/api/me/feedback")
    def me_feedback_api():
        shown = my_feedback(api_participant())
        if shown is None:
            return _error_json("no feedback released for you yet", 404)
        return jsonify(_feedback_json(shown))

    @app.get("/api/me")
    def me_api():
        return jsonify(_profile_json(desk.profile(api_participant())))

    @app.post("/api/me/finals")
    def me_finals_api():
        body = request.get_json(silent=True)
        ids = body.get("submission_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            return _error_json('expected JSON {"task": "...", "submission_ids": [1, 2]}', 400)
        chosen = desk.choose(api_participant(), str(body.get("task", "")), ids)
        return jsonify({"task": body["task"], "chosen": chosen})

    @app.post("/api/me/name")
    def me_name_api():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("display_name"), str):
            return _error_json('expected JSON {"display_name": "..."}', 400)
        return jsonify(
            {"display_name": desk.set_display_name(api_participant(), body["display_name"])}
        )

    def require_staff() -> Response | None:
        if config.staff_token is None:
            return _error_json("staff routes are off: start the server with a staff token", 403)
        token = _bearer_token() or ""
        if not hmac.compare_digest(token.encode(), config.staff_token.encode()):
            return _error_json("wrong or missing staff token", 401)
        return None

    @app.post("/api/staff/deadline")
    def deadline_api():
        if (denied := require_staff()) is not None:
            return denied
        if course.phases.final is not None:
            return _error_json(
                "the deadline comes from the course file's [phases.final]; edit it and restart",
                409,
            )
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "deadline" not in body:
            return _error_json('expected JSON {"deadline": "2026-12-01T23:59:00Z"} or null', 400)
        try:
            deadline = None if body["deadline"] is None else parse_utc_time(str(body["deadline"]))
        except LeaderboardError as error:
            return _error_json(str(error), 400)
        store.set_deadline(deadline)
        log.info("deadline set to %s", _time(deadline))
        return jsonify({"deadline": _time(deadline)})

    @app.get("/api/staff/export")
    def export_api():
        if (denied := require_staff()) is not None:
            return denied
        details = request.args.get("details") == "1"
        return Response(
            final_scores_csv(store.final_scores(TASKS), details=details), mimetype="text/csv"
        )

    @app.get("/api/staff/participants")
    def participants_api():
        if (denied := require_staff()) is not None:
            return denied
        names = store.display_names()
        return jsonify(
            {"participants": [{"name": n, "display_name": d} for n, d in sorted(names.items())]}
        )

    @app.get("/api/staff/submissions")
    def submissions_api():
        if (denied := require_staff()) is not None:
            return denied
        return jsonify({"submissions": [_view_json(r) for r in archive.records()]})

    @app.get("/api/staff/submissions/<int:submission_id>/file")
    def submission_file_api(submission_id: int):
        if (denied := require_staff()) is not None:
            return denied
        try:
            record, data = archive.file(submission_id)
        except KeyError:
            return _error_json(f"no submission {submission_id}", 404)
        except NotStored as error:
            return _error_json(str(error), 404)
        name = f"{record.submission_id}-{record.student}-{record.filename}"
        response = Response(data, mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{secure_filename(name) or "submission.csv"}"'
        )
        response.headers["X-Content-SHA256"] = record.sha256
        return response

    return app
