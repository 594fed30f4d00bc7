"""Limit invalid uploads per token: a sliding window kept in the server's memory (issue 9).

Valid submissions are limited per UTC day in the database; invalid ones are not stored, so
without this a token could make the server validate broken files without end. The window lives
in the one server process (waitress runs threads, not processes); a restart forgets it.
"""

import threading
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta


class InvalidAttempts:
    """At most `limit` invalid uploads per participant within any `window`."""

    def __init__(self, limit: int, window: timedelta, clock: Callable[[], datetime]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._times: dict[int, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, participant_id: int, now: datetime) -> deque[datetime]:
        times = self._times[participant_id]
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked_until(self, participant_id: int) -> datetime | None:
        """When this participant may upload again, or None if they may now."""
        with self._lock:
            times = self._recent(participant_id, self._clock())
            return times[0] + self.window if len(times) >= self.limit else None

    def add(self, participant_id: int) -> None:
        """Count one invalid upload now."""
        with self._lock:
            now = self._clock()
            self._recent(participant_id, now).append(now)
