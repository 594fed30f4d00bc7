"""Run the leaderboard app under waitress, a production WSGI server (threads, no reloader)."""

import logging
import sys

from waitress import create_server

from autograder.leaderboard.app import create_app
from autograder.leaderboard.config import LeaderboardConfig
from autograder.leaderboard.logsafe import SafeFormatter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """Timestamped INFO logs on stderr: the app's access log and waitress's own warnings.

    Control characters in any message are escaped, so request text cannot forge a log line.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def serve(config: LeaderboardConfig, host: str, port: int) -> None:
    """Serve until interrupted; prints `listening on http://HOST:PORT` once the socket is bound.

    Port 0 picks a free port (the printed URL has the real one), which tests rely on.
    """
    app = create_app(config)
    server = create_server(
        app,
        host=host,
        port=port,
        threads=config.threads,
        # Flask answers oversize uploads with a clear 413; this only stops absurd bodies early.
        max_request_body_size=2 * app.config["MAX_CONTENT_LENGTH"],
        ident="facekit-leaderboard",
    )
    print(f"listening on http://{host}:{server.effective_port}", flush=True)
    server.run()
