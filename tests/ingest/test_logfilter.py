"""Rate-limited logging (issue 21, item 9): a flood of one error stays a few lines."""

from __future__ import annotations

import io
import logging

from ingest.logfilter import RepeatFilter


def test_a_repeated_message_is_shown_once_per_interval_with_a_count() -> None:
    now = [0.0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RepeatFilter(10.0, clock=lambda: now[0]))
    log = logging.getLogger("test.logfilter")
    log.addHandler(handler)
    log.propagate = False
    try:
        for i in range(10_000):
            log.error("socket.accept() out of system resource: %s", i)
        log.warning("another kind of problem")
        now[0] = 11.0
        log.error("socket.accept() out of system resource: %s", "again")
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "socket.accept() out of system resource: 0",
        "another kind of problem",
        "socket.accept() out of system resource: again [9999 similar messages suppressed in the last 10 s]",
    ]
