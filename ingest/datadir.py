"""The data directory of a running service belongs to one service at a time.

Two ``soc run`` on one directory would both read the durable queue and store every event
twice (and each keep its own idea of the queue's depth). :class:`DataDirLock` takes an
exclusive ``flock`` on ``DATA_DIR/lock`` (released by the kernel when the process ends,
even by ``kill -9``: no stale lock to clean up) and writes the owner's pid there, so the
second service refuses to start with a message naming the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from soc_core.errors import ConfigError

LOCK_FILE = "lock"


class DataDirLock:
    """An exclusive lock on a data directory (see the module docstring)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`ConfigError` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(f"data directory {self.path.parent} is in use by another soc run (pid {owner}); "
                              "stop it or give this one another --data-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (the file stays: removing it would race a starting service)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
