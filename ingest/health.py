"""The running service's own health: is the pipeline progressing, and if not, why.

The worker and the background tasks report here (a batch stored, a store failure, a task
that failed or recovered); ``/health`` asks :meth:`ServiceHealth.problems` and answers
degraded (HTTP 503) with the reasons when the store keeps failing, the queue holds events
and nothing was stored for ``stuck_after_secs``, or a background task is failing or dead.
Thread-safe: the worker thread reports, the event loop reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Failure:
    reason: str
    since: float  # monotonic seconds of the first failure in a row
    count: int


class ServiceHealth:
    """What the worker and the background tasks last reported (see the module doc)."""

    def __init__(self, stuck_after_secs: float = 120.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.stuck_after_secs = stuck_after_secs
        self._now = monotonic
        self._lock = threading.Lock()
        self._last_progress = monotonic()
        self._store: _Failure | None = None
        self._tasks: dict[str, _Failure] = {}

    def progressed(self, idle: bool = False) -> None:
        """The worker stored a batch (or found the queue empty: nothing to be late on)."""
        with self._lock:
            self._last_progress = self._now()
            if not idle:
                self._store = None

    def store_failed(self, reason: str) -> None:
        """A write failed; it is retried (and isolated after a few attempts)."""
        with self._lock:
            previous = self._store
            self._store = _Failure(reason, previous.since if previous else self._now(),
                                   previous.count + 1 if previous else 1)

    def task_failed(self, task: str, reason: str) -> None:
        """A background task hit an error (it goes on, or it died: ``reason`` says)."""
        with self._lock:
            previous = self._tasks.get(task)
            self._tasks[task] = _Failure(reason, previous.since if previous else self._now(),
                                         previous.count + 1 if previous else 1)

    def task_ok(self, task: str) -> None:
        """The task's last run succeeded: an earlier failure is over."""
        with self._lock:
            self._tasks.pop(task, None)

    def problems(self, queue_depth: int) -> list[str]:
        """Why the service is degraded, one line per reason; empty when healthy."""
        now = self._now()
        out: list[str] = []
        with self._lock:
            if self._store is not None:
                out.append(f"storage failing: {self._store.count} failed writes in a row over "
                           f"{now - self._store.since:.0f} s, last: {self._store.reason}")
            idle_for = now - self._last_progress
            if queue_depth > 0 and idle_for >= self.stuck_after_secs:
                out.append(f"queue stuck: {queue_depth} events waiting, nothing stored for {idle_for:.0f} s")
            for task, failure in sorted(self._tasks.items()):
                out.append(f"background task {task} failing ({failure.count} times since "
                           f"{now - failure.since:.0f} s): {failure.reason}")
        return out
