"""Input files of the ``soc`` commands: folders walked recursively, include/exclude globs,
a progress line on a terminal, and a per-file summary at the end.

Folders of evidence are walked as Zircolite and Hayabusa do: every file below them, in
a stable (sorted) order, hidden files and folders included only when named. ``--include``
and ``--exclude`` globs match a file's name or its path relative to the folder given
(``*.evtx``, ``**/auth.log*``, ``archive/*``); files named on the command line are always
read. The progress line goes to stderr only when stderr is a terminal, so piped and
redirected runs stay quiet; the summary is for people and names its columns in
Vietnamese and English.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any, TextIO, TypeVar

import click

from parsers.base import STDIN_PATH

F = TypeVar("F", bound=Callable[..., Any])
# A terminal is redrawn at most this often: the rate, not every event, is what a person reads.
REDRAW_SECS = 0.25


def input_options(func: F) -> F:
    """``--include`` and ``--exclude`` (repeatable globs) for commands that read folders."""
    func = click.option(
        "--exclude", "exclude", multiple=True, metavar="GLOB",
        help="Skip files in folders whose name or relative path matches GLOB (repeatable).")(func)
    func = click.option(
        "--include", "include", multiple=True, metavar="GLOB",
        help="In folders, read only files whose name or relative path matches GLOB (repeatable).")(func)
    return func


def _matches(name: str, relative: str, globs: Iterable[str]) -> bool:
    for glob in globs:
        if fnmatch(name, glob) or fnmatch(relative, glob):
            return True
        # "**/x" also matches "x" at the top of the folder, as in gitignore and rsync.
        if glob.startswith("**/") and (fnmatch(relative, glob[3:]) or fnmatch(name, glob[3:])):
            return True
    return False


def expand_inputs(paths: Iterable[str], include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
    """The files to read: each path that is not a folder as given (a FIFO too), each
    folder's regular files recursively (sorted).

    Raises ``click.UsageError`` for a path that does not exist, and for a folder where
    nothing is left after the globs (an empty run would look like a clean one).
    """
    include, exclude = tuple(include), tuple(exclude)
    files: list[str] = []
    for path in paths:
        if path == STDIN_PATH or not os.path.isdir(path):
            # Named on the command line: read as given, a FIFO or /dev/stdin included.
            if path != STDIN_PATH and not os.path.exists(path):
                raise click.UsageError(f"no such file or folder: {path}")
            files.append(path)
            continue
        found = 0
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(root, name)
                relative = os.path.relpath(full, path).replace(os.sep, "/")
                if include and not _matches(name, relative, include):
                    continue
                if exclude and _matches(name, relative, exclude):
                    continue
                if os.path.isfile(full):
                    files.append(full)
                    found += 1
        if not found:
            raise click.UsageError(f"no file to read in folder {path} (check --include/--exclude)")
    return files


@dataclass
class FileCounts:
    """What one input file gave."""

    path: str
    events: int = 0
    alerts: int = 0
    dead_letters: int = 0


@dataclass
class Progress:
    """A one-line progress display on a terminal (nothing otherwise) and the per-file table.

    ``stream`` defaults to stderr; ``enabled`` defaults to whether it is a terminal.
    """

    total_files: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    enabled: bool | None = None
    clock: Callable[[], float] = time.monotonic
    files: list[FileCounts] = field(default_factory=list)
    _started: float = 0.0
    _drawn: float = 0.0

    def __post_init__(self) -> None:
        if self.enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            self.enabled = bool(isatty and isatty())
        self._started = self.clock()

    def start_file(self, path: str) -> FileCounts:
        counts = FileCounts(path)
        self.files.append(counts)
        self.tick(force=True)
        return counts

    def tick(self, force: bool = False) -> None:
        """Redraw the line when enough time has passed (cheap to call per event)."""
        if not self.enabled:
            return
        now = self.clock()
        if not force and now - self._drawn < REDRAW_SECS:
            return
        self._drawn = now
        events = sum(f.events for f in self.files)
        dead = sum(f.dead_letters for f in self.files)
        rate = events / max(now - self._started, 1e-6)
        self.stream.write(f"\r\x1b[K[{len(self.files)}/{self.total_files}] tệp/files · {events:,} sự kiện/events"
                          f" · {rate:,.0f}/s · {dead:,} lỗi/dead letters")
        self.stream.flush()

    def close(self) -> None:
        """End the progress line (the summary then starts on a clean line)."""
        if self.enabled:
            self.tick(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def summary(self, alerts: bool = True) -> str:
        """The per-file table and a total line, tab-separated."""
        head = ["tệp/file", "sự kiện/events"] + (["cảnh báo/alerts"] if alerts else []) + ["lỗi/dead letters"]
        rows = ["\t".join(head)]
        for f in self.files:
            cells = [f.path, str(f.events)] + ([str(f.alerts)] if alerts else []) + [str(f.dead_letters)]
            rows.append("\t".join(cells))
        total = ["tổng/total", str(sum(f.events for f in self.files))]
        if alerts:
            total.append(str(sum(f.alerts for f in self.files)))
        total.append(str(sum(f.dead_letters for f in self.files)))
        rows.append("\t".join(total))
        return "\n".join(rows)


def counted(items: Iterable[Any], progress: Progress, counts: FileCounts) -> Iterator[Any]:
    """``items`` unchanged, each counted as an event of ``counts`` (progress redrawn)."""
    for item in items:
        counts.events += 1
        progress.tick()
        yield item
