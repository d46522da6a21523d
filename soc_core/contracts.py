"""Typed contracts, one per kind of plugin, and the small value types they exchange.

A component satisfies a contract structurally (``typing.Protocol``): no base class is
required. ``docs/specs/component.md`` says what every component must do beyond the types.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol, runtime_checkable

from soc_core.event import KIND_ALERT, KIND_PIPELINE_ERROR, Event, RawEvent, get_field
from soc_core.query.ast import Node

Collection = Literal["events", "alerts", "dead_letters"]
COLLECTIONS: tuple[Collection, ...] = ("events", "alerts", "dead_letters")
_KIND_TO_COLLECTION: dict[str, Collection] = {KIND_ALERT: "alerts", KIND_PIPELINE_ERROR: "dead_letters"}


def collection_of(event: Event) -> Collection:
    """Which collection a document belongs to, by its ``event.kind``."""
    return _KIND_TO_COLLECTION.get(str(get_field(event, "event.kind")), "events")
Order = Literal["asc", "desc"]


# --- receivers -------------------------------------------------------------------------


class EventSink(Protocol):
    """Where receivers hand raw events; returns only once the batch is durably queued.

    Raises :class:`soc_core.errors.QueueFull` when the queue is at its limit.
    """

    async def put(self, batch: Sequence[RawEvent]) -> None: ...


@runtime_checkable
class Receiver(Protocol):
    """A network or file input. ``acknowledges`` is False where the protocol cannot
    confirm delivery to the sender (UDP), so data may be lost there."""

    name: str
    acknowledges: bool

    async def run(self, sink: EventSink) -> None: ...

    async def stop(self) -> None: ...


# --- parsers ---------------------------------------------------------------------------


class Framer(Protocol):
    """Splits a byte stream into events: yields ``(offset_of_first_byte, event_bytes)``."""

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]: ...


@runtime_checkable
class Parser(Protocol):
    """Turns a raw event into a nested ECS event.

    ``id`` is the ``event.dataset`` it produces (and its ``--parser`` name). ``accepts``
    is a cheap routing check; ``parse`` raises :class:`soc_core.errors.ParseError` with a
    reason when it cannot handle the input. ``framer`` says how files are split.
    """

    id: str
    framer: Framer

    def accepts(self, raw: RawEvent) -> bool: ...

    def parse(self, raw: RawEvent) -> Event: ...


@runtime_checkable
class FileReader(Protocol):
    """Optional for a parser whose files are not text to frame (``.evtx``, JSON arrays):
    it reads the file itself and yields one raw event per record."""

    def read_file(self, path: str, received: datetime) -> Iterator[RawEvent]: ...


@runtime_checkable
class BatchParser(Protocol):
    """Optional for a parser that does better on many events at once (``auto`` routes a
    batch, then parses it grouped by the parser chosen: the same code and data run back
    to back, which is faster on a mixed stream than alternating per line).

    Returns one outcome per input, in input order: the event — or ``finish(event)`` when
    a ``finish`` is given (``soc parse`` serialises there, still grouped) — or the
    exception that parsing (or ``finish``) raised for it: a
    :class:`~soc_core.errors.ParseError`, or any other exception from a bug, so one bad
    line never costs the others."""

    def parse_batch(self, raws: Sequence[RawEvent],
                    finish: Callable[[Event], Any] | None = None) -> list[Any]: ...


# --- stores ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``start`` inclusive, ``end`` exclusive; ``None`` leaves that side open."""

    start: datetime | None = None
    end: datetime | None = None


ALL_TIME = TimeRange()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of search hits and the opaque cursor for the next page (None at the end)."""

    events: list[Event]
    cursor: str | None


@dataclass(slots=True)
class WriteResult:
    """What a batch write did: new documents, already-present ones, and per-document
    failures (event, reason), which the caller sends to the dead letters."""

    written: int = 0
    duplicates: int = 0
    failed: list[tuple[Event, str]] = field(default_factory=list)

    def merge(self, other: WriteResult) -> None:
        self.written += other.written
        self.duplicates += other.duplicates
        self.failed.extend(other.failed)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One aggregation bucket: a term or a bucket start time, and its document count."""

    key: Any
    count: int


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: str


Record = dict[str, Any]


class RecordRepository(Protocol):
    """Mutable records (incidents, assets, indicators) with optimistic versions.

    ``put`` with ``expected_version=None`` creates the record (version 1); otherwise it
    raises :class:`soc_core.errors.VersionConflict` unless the stored version matches,
    and stores the record with version + 1.
    """

    def get(self, record_id: str) -> Record: ...

    def put(self, record: Record, expected_version: int | None) -> Record: ...

    def list(self, limit: int = 100, offset: int = 0) -> list[Record]: ...

    def find(self, filters: Mapping[str, str], limit: int = 100, offset: int = 0) -> builtins.list[Record]:
        """Records whose field ``name`` holds ``value`` for every filter (AND), newest first.

        A filter name is a top-level field (``status``, ``assignee``), a list field (a record
        matches when the list holds the value: ``alert_ids``, ``tactics``) or one level into a
        dict of lists (``entities.source.ip``). Values compare as exact strings.
        """
        ...


@runtime_checkable
class IncidentObserver(Protocol):
    """Told after an incident was stored: playbooks run automatically through one of these.

    ``change`` is ``created``, ``updated`` (alerts joined), ``status``, ``assigned``, ``merged``,
    ``split``, ``commented`` or ``evidence``. An observer must not change the record it is given.
    """

    def on_incident(self, incident: Record, change: str) -> None: ...


class AlertStage(Protocol):
    """Between detection and the store: alert handling and incident grouping (``incidents``).

    ``before_store`` gets each batch's alerts and returns the alerts to store (it may fold
    duplicates away or mark suppressed ones); ``after_store`` is called once they are stored.
    """

    def before_store(self, alerts: Sequence[Event]) -> list[Event]: ...

    def after_store(self) -> None: ...


@runtime_checkable
class Store(Protocol):
    """Events, alerts and dead letters, and repositories of mutable records.

    ``write`` routes each event by ``event.kind`` and is idempotent on ``event.id``.
    """

    name: str

    def write(self, events: Sequence[Event]) -> WriteResult: ...

    def get(self, collection: Collection, event_id: str) -> Event | None: ...

    def search(
        self,
        collection: Collection,
        query: Node,
        time_range: TimeRange = ALL_TIME,
        limit: int = 100,
        cursor: str | None = None,
        order: Order = "desc",
    ) -> Page: ...

    def count(self, collection: Collection, query: Node, time_range: TimeRange = ALL_TIME) -> int: ...

    def terms(
        self, collection: Collection, query: Node, field: str, size: int = 10,
        time_range: TimeRange = ALL_TIME,
    ) -> list[Bucket]: ...

    def date_histogram(
        self, collection: Collection, query: Node, interval_seconds: int,
        time_range: TimeRange = ALL_TIME,
    ) -> list[Bucket]: ...

    def cardinality(
        self, collection: Collection, query: Node, field: str, time_range: TimeRange = ALL_TIME,
    ) -> int: ...

    def purge_older_than(self, cutoff: datetime) -> int: ...

    def records(self, kind: str) -> RecordRepository: ...

    def healthcheck(self) -> Health: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RawHit:
    """One document of a raw search: the stored event and the sort values to page after it."""

    event: Event
    sort: list[Any]


@runtime_checkable
class RawSearchStore(Protocol):
    """Optional for a store that takes queries in its own native language (the
    Elasticsearch query DSL): the retro-hunt runs pySigma's conversions of Sigma rules
    there, which are not our query language. ``search_raw`` is not retried: a refused
    query raises :class:`~soc_core.errors.StoreError`, a slow one
    :class:`~soc_core.errors.SearchTimeout`."""

    def search_raw(
        self, collection: Collection, query: dict[str, Any], limit: int = 1000,
        search_after: list[Any] | None = None, timeout_secs: float | None = None,
        indices: Sequence[str] | None = None, time_range: TimeRange = ALL_TIME,
    ) -> list[RawHit]: ...

    def indices_holding(self, collection: Collection, query: dict[str, Any],
                        time_range: TimeRange = ALL_TIME) -> list[str]: ...

    def unindexed_filter(self) -> dict[str, Any]:
        """A query-DSL filter for the documents holding a value too long for the index:
        queries cannot see that value, so a reader that must not miss it checks those
        documents itself."""
        ...


# --- detection -------------------------------------------------------------------------


@runtime_checkable
class Detector(Protocol):
    """Pure detection: no I/O. ``detect`` returns alerts for one event; ``flush`` returns
    alerts that only time can produce (a correlation window closing)."""

    name: str

    def detect(self, event: Event) -> list[Event]: ...

    def flush(self, now: datetime) -> list[Event]: ...


# --- response --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponseRequest:
    """One response action on one observable (an IP to block, a user to disable)."""

    action_id: str
    observable_type: str
    value: str
    params: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class ResponseResult:
    status: Literal["done", "already_done", "reverted", "skipped", "dry_run"]
    detail: str = ""


@runtime_checkable
class Responder(Protocol):
    """An idempotent response action. Raises RetryableError or PermanentError."""

    name: str
    accepts: frozenset[str]

    def run(self, request: ResponseRequest) -> ResponseResult: ...

    def revert(self, request: ResponseRequest) -> ResponseResult: ...


# --- threat intelligence ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Indicator:
    """An observable with provenance: ``type`` is an ECS-ish name (``ipv4-addr``,
    ``domain-name``, ``url``, ``file:hashes.SHA-256``...)."""

    type: str
    value: str
    source: str
    confidence: int = 50
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    labels: tuple[str, ...] = ()


@runtime_checkable
class IntelFeed(Protocol):
    """A source of indicators, fetched through an injected HTTP client with timeouts."""

    name: str

    def fetch(self, since: datetime | None) -> Iterable[Indicator]: ...
