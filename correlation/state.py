"""Where correlation windows keep their entries: an interface and the in-memory reference.

The correlation engine never holds window contents itself; it reads and writes them through
:class:`CorrelationState`, keyed by ``"<correlation key>\\x1f<group JSON>"``. The in-memory
implementation is the reference semantics; a Redis implementation (one sorted list per key)
can take its place in the distributed mode without touching the engine.

Entries are small and JSON-serialisable on purpose (timestamps as integer microseconds,
values as JSON scalars), so that any remote store can hold them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class WindowEntry:
    """One match that entered a correlation window.

    ``rule`` is the key of the matching rule (its id, else its name); ``event_ids`` the ids of
    the events behind it (one for a base rule, several when a correlation feeds another);
    ``value`` the correlated field value for ``value_*`` types (``None`` otherwise);
    ``seq`` the arrival number, which breaks ties between equal timestamps.
    """

    timestamp_us: int
    rule: str
    event_ids: tuple[str, ...]
    value: Any = None
    seq: int = 0

    def sort_key(self) -> tuple[int, int]:
        return (self.timestamp_us, self.seq)


@runtime_checkable
class CorrelationState(Protocol):
    """Window contents per key. Implementations keep entries ordered by :meth:`WindowEntry.sort_key`."""

    def append(self, key: str, entry: WindowEntry) -> None:
        """Add one entry to the window of ``key``."""
        ...

    def load(self, key: str) -> list[WindowEntry]:
        """All entries of ``key``, oldest first (empty when unknown)."""
        ...

    def replace(self, key: str, entries: Iterable[WindowEntry]) -> None:
        """Set the entries of ``key``; an empty iterable forgets the key."""
        ...

    def window_keys(self) -> list[str]:
        """Every key that currently holds entries."""
        ...

    def entry_count(self) -> int:
        """How many entries are held in total (the memory the windows use)."""
        ...


class MemoryState:
    """The reference implementation: a dict of sorted lists, owned by one detector."""

    def __init__(self) -> None:
        self._windows: dict[str, list[WindowEntry]] = {}

    def append(self, key: str, entry: WindowEntry) -> None:
        window = self._windows.setdefault(key, [])
        window.append(entry)
        # Events mostly arrive in order; only a late one needs the (cheap, nearly sorted) sort.
        if len(window) > 1 and window[-2].sort_key() > entry.sort_key():
            window.sort(key=WindowEntry.sort_key)

    def load(self, key: str) -> list[WindowEntry]:
        return list(self._windows.get(key, ()))

    def replace(self, key: str, entries: Iterable[WindowEntry]) -> None:
        kept = sorted(entries, key=WindowEntry.sort_key)
        if kept:
            self._windows[key] = kept
        else:
            self._windows.pop(key, None)

    def window_keys(self) -> list[str]:
        return list(self._windows)

    def entry_count(self) -> int:
        return sum(len(w) for w in self._windows.values())
