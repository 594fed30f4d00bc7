"""Upload a submission over HTTP with the standard library (what `facekit submit` runs)."""

import json
import secrets
import urllib.error
import urllib.request
from pathlib import Path

from autograder.leaderboard.errors import LeaderboardError


class SubmitFailed(LeaderboardError):
    """The server refused the submission (HTTP `status`) or could not be reached (None)."""

    def __init__(
        self, message: str, status: int | None = None, problems: list[str] | None = None
    ) -> None:
        self.status = status
        self.problems = problems or []
        super().__init__("\n".join([message, *self.problems]))


def _multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = f"facekit-{secrets.token_hex(16)}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def submit_file(server: str, token: str, task: str, path: Path, timeout: float = 120) -> dict:
    """POST `path` to `<server>/api/submit/<task>`; returns the server's JSON receipt."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise SubmitFailed(f"cannot read {path}: {error.strerror}") from error
    filename = Path(path).name.replace('"', "_")
    body, content_type = _multipart("file", filename, data)
    request = urllib.request.Request(
        f"{server.rstrip('/')}/api/submit/{task}",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        try:
            reply = json.load(error)
        except ValueError:
            reply = {"error": error.reason}
        raise SubmitFailed(
            f"HTTP {error.code}: {reply.get('error')}", error.code, reply.get("problems")
        ) from error
    except (urllib.error.URLError, OSError) as error:
        raise SubmitFailed(f"cannot reach {server}: {error}") from error
