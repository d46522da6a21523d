"""Rate-limited logging: the same message at most once per interval, with a count.

A hostile sender can provoke the same error thousands of times a second (bad requests,
accept errors when descriptors run out); logged each time, stderr grew 139 MB in 45 s.
:class:`RepeatFilter` lets the first record of a kind through, then at most one per
``interval_secs``, which tells how many like it were suppressed meanwhile. The kind is
the logger, the level and the message template (its first line), not the arguments.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

MAX_KINDS = 1000


class RepeatFilter(logging.Filter):
    """See the module docstring; attach it to a handler (``handler.addFilter``)."""

    def __init__(self, interval_secs: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_secs = interval_secs
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # kind -> [last shown, suppressed]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg).split("\n", 1)[0][:200])
        now = self._clock()
        with self._lock:
            state = self._seen.get(key)
            if state is not None and now - state[0] < self.interval_secs:
                state[1] += 1
                return False
            if len(self._seen) >= MAX_KINDS:
                self._seen.clear()  # many distinct messages: start over rather than grow
            self._seen[key] = [now, 0]
        if state is not None and state[1]:
            record.msg = f"{record.msg} [{int(state[1])} similar messages suppressed in the last " \
                         f"{self.interval_secs:g} s]"
        return True


def rate_limit_logging(interval_secs: float = 10.0) -> None:
    """Put a :class:`RepeatFilter` on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter(interval_secs))
