"""The processing pipeline: parse, enrich, detect, store, one batch at a time.

Every input event leaves as exactly one stored document: a parsed event, or a dead
letter (``event.kind: pipeline_error``) carrying the reason and the original. Detectors
add alerts. Nothing is dropped silently; every outcome is counted in :class:`Stats`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from soc_core.clock import Clock, SystemClock
from soc_core.contracts import AlertStage, BatchParser, Detector, Parser, Store
from soc_core.errors import ParseError, StoreError
from soc_core.event import (
    KIND_ALERT,
    KIND_PIPELINE_ERROR,
    Event,
    RawEvent,
    compute_event_id,
    dumps,
    format_timestamp,
    parse_timestamp,
    pipeline_error,
)

log = logging.getLogger(__name__)

Enricher = Callable[[Event], None]
_BUG_LOG_INTERVAL_SECS = 10.0


@dataclass
class Stats:
    """What a run did, per outcome; ``per_parser`` counts (parsed, failed) by parser id."""

    received: int = 0
    parsed: int = 0
    failed: int = 0
    alerts: int = 0
    stored: int = 0
    duplicates: int = 0
    store_failures: int = 0
    parser_bugs: int = 0
    per_parser: dict[str, list[int]] = field(default_factory=dict)

    def count_parser(self, parser_id: str, ok: bool, count: int = 1) -> None:
        slot = self.per_parser.setdefault(parser_id, [0, 0])
        slot[0 if ok else 1] += count


class BugLogger:
    """Logs unexpected exceptions with their traceback, at most once per interval."""

    def __init__(self, interval_secs: float = _BUG_LOG_INTERVAL_SECS) -> None:
        self._interval = interval_secs
        self._last = float("-inf")
        self.suppressed = 0

    def __call__(self, message: str, exc: BaseException | None = None) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval:
            log.error("%s (%d similar suppressed)", message, self.suppressed, exc_info=exc or True)
            self._last = now
            self.suppressed = 0
        else:
            self.suppressed += 1


def parse_one(parser: Parser, raw: RawEvent, stats: Stats, bugs: BugLogger) -> Event:
    """Parse one raw event; any failure becomes a dead letter, never an exception."""
    try:
        outcome: Event | Exception = parser.parse(raw)
    except Exception as exc:  # judged below: a ParseError or a parser bug
        outcome = exc
    return _settle(parser, raw, outcome, stats, bugs)


def parse_many(parser: Parser, raws: Sequence[RawEvent], stats: Stats, bugs: BugLogger) -> list[Event]:
    """:func:`parse_one` over a batch, in order; a :class:`BatchParser` gets the whole
    batch at once (``auto`` parses it grouped by the parser each line routes to)."""
    if isinstance(parser, BatchParser) and len(raws) > 1:
        outcomes = parser.parse_batch(raws)
        return [_settle(parser, raw, outcome, stats, bugs) for raw, outcome in zip(raws, outcomes, strict=True)]
    return [parse_one(parser, raw, stats, bugs) for raw in raws]


def count_dead_letters(parser: Parser, raws: Sequence[RawEvent]) -> int:
    """How many of ``raws`` the parser refuses (they become dead letters when processed):
    a receiver that answers its sender uses it to say so in the answer."""
    parsed = parse_many(parser, raws, Stats(), BugLogger())
    return sum(1 for event in parsed if event["event"]["kind"] == KIND_PIPELINE_ERROR)


# Events parsed together by parse_stream and parse_lines (soc parse, soc detect). They read
# files whole, so nobody waits for a batch to fill, and the groups a batch parser forms
# grow with it (the 11-source stream of bench/parse_bench.py in 4,096s gives groups of ~370
# lines, against ~23 in 256s): a parser's code and tables stay in the CPU caches for the
# whole group, ~10% faster there. Receivers batch by what has arrived (Pipeline).
PARSE_BATCH: Final = 4096
CHUNK_MAX_BYTES: Final = 16 << 20  # raw bytes per batch, whatever the event count


def _chunks(raws: Iterable[RawEvent], size: int, max_bytes: int = CHUNK_MAX_BYTES) -> Iterator[list[RawEvent]]:
    """Batches of at most ``size`` events or ``max_bytes`` raw bytes (1,000 lines of
    1 MiB must not become one batch of 1 GB, and then several copies of it)."""
    chunk: list[RawEvent] = []
    held = 0
    for raw in raws:
        chunk.append(raw)
        held += len(raw.data)
        if len(chunk) >= size or held >= max_bytes:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def parse_stream(parser: Parser, raws: Iterable[RawEvent], stats: Stats, bugs: BugLogger,
                 batch: int = PARSE_BATCH) -> Iterator[Event]:
    """:func:`parse_many` over a stream, ``batch`` events at a time, in input order."""
    for chunk in _chunks(raws, batch):
        yield from parse_many(parser, chunk, stats, bugs)


def parse_lines(parser: Parser, raws: Iterable[RawEvent], stats: Stats, bugs: BugLogger,
                batch: int = PARSE_BATCH) -> Iterator[bytes]:
    """:func:`parse_stream` serialised: one JSON document per input, in input order.

    A batch parser serialises each event right after parsing it, still grouped by parser
    (its code and tables are still in the CPU caches then: a third faster on a mixed
    stream than serialising the batch afterwards in input order)."""
    if not isinstance(parser, BatchParser):
        yield from _parse_lines_one_by_one(parser, raws, stats, bugs, batch)
        return
    zone = parser_zone(parser)
    finish = _serialised if zone is None else (lambda event: _serialised(_with_zone(event, zone)))
    for chunk in _chunks(raws, batch):
        parsed: dict[str, int] = {}  # per dataset, added to stats once per batch
        try:
            for raw, outcome in zip(chunk, parser.parse_batch(chunk, finish=finish), strict=True):
                if isinstance(outcome, Exception):
                    yield dumps(_settle(parser, raw, outcome, stats, bugs))
                else:
                    dataset, line = outcome
                    dataset = dataset or parser.id
                    parsed[dataset] = parsed.get(dataset, 0) + 1
                    yield line
        finally:  # also when the reader stops early: what it was given is counted
            _count_batch(stats, parsed)


def _parse_lines_one_by_one(parser: Parser, raws: Iterable[RawEvent], stats: Stats, bugs: BugLogger,
                            batch: int) -> Iterator[bytes]:
    """:func:`parse_lines` for a parser without batches: the same outcomes and counts as
    :func:`parse_one` then ``dumps``, with the per-line bookkeeping (dataset counts) kept
    per batch: on a single fast parser it cost a fifth of the time of ``soc parse``."""
    parse = parser.parse
    zone = parser_zone(parser)
    for chunk in _chunks(raws, batch):
        parsed: dict[str, int] = {}
        try:
            for raw in chunk:
                try:
                    event = parse(raw)
                except Exception as exc:  # judged by _settle: a ParseError or a parser bug
                    yield dumps(_settle(parser, raw, exc, stats, bugs))
                    continue
                dataset = event.get("event", {}).get("dataset", parser.id)
                parsed[dataset] = parsed.get(dataset, 0) + 1
                yield dumps(_with_zone(event, zone) if zone is not None else event)
        finally:  # also when the reader stops early: what it was given is counted
            _count_batch(stats, parsed)


def _count_batch(stats: Stats, parsed: dict[str, int]) -> None:
    for dataset, count in parsed.items():
        stats.count_parser(dataset, True, count)
        stats.parsed += count
        stats.received += count


def _serialised(event: Event) -> tuple[str | None, bytes]:
    return event.get("event", {}).get("dataset"), dumps(event)


def _count_parsed(stats: Stats, dataset: str) -> None:
    stats.count_parser(dataset, True)
    stats.parsed += 1


def _settle(parser: Parser, raw: RawEvent, outcome: Event | Exception, stats: Stats, bugs: BugLogger) -> Event:
    """Count one parse outcome and turn a failure into its dead letter."""
    stats.received += 1
    if isinstance(outcome, ParseError):
        stats.count_parser(outcome.parser_id, False)
        stats.failed += 1
        return pipeline_error(raw, outcome.parser_id, outcome.reason)
    if isinstance(outcome, Exception):  # a parser bug: count it, log it, keep the input
        stats.parser_bugs += 1
        stats.failed += 1
        stats.count_parser(parser.id, False)
        bugs(f"parser {parser.id} raised on {raw.source}@{raw.offset}", outcome)
        return pipeline_error(raw, parser.id, f"parser bug: {type(outcome).__name__}: {outcome}")
    _count_parsed(stats, outcome.get("event", {}).get("dataset", parser.id))
    return _with_zone(outcome, parser_zone(parser))


def _with_zone(event: Event, zone: str | None) -> Event:
    if zone is not None:
        meta = event.get("event")
        if isinstance(meta, dict):
            meta.setdefault("timezone", zone)  # a parser that read a zone itself keeps it
    return event


def parser_zone(parser: Parser) -> str | None:
    """The ``event.timezone`` of the events ``parser`` makes (see :func:`zone_label`)."""
    return zone_label(getattr(getattr(parser, "options", None), "tz", None))


@lru_cache(maxsize=16)
def zone_label(tz: tzinfo | None) -> str | None:
    """``event.timezone`` for a parser configured with ``tz`` (``--tz``), as Filebeat's
    ``add_locale`` sets it: the IANA name, else ``+HH:MM``; none for UTC (the default)."""
    if tz is None or tz is UTC:
        return None
    if isinstance(tz, ZoneInfo):
        return None if tz.key in ("UTC", "Etc/UTC") else tz.key
    offset = tz.utcoffset(None)
    if offset is None or not offset:
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class Pipeline:
    """Parse → enrich → detect → store, in batches of ``batch_size`` events."""

    def __init__(
        self,
        parser: Parser,
        store: Store | None = None,
        detectors: Sequence[Detector] = (),
        enrichers: Sequence[Enricher] = (),
        clock: Clock | None = None,
        batch_size: int = 1000,
        alert_stage: AlertStage | None = None,
    ) -> None:
        self.parser = parser
        self.alert_stage = alert_stage
        self.store = store
        self.detectors = list(detectors)
        self.enrichers = list(enrichers)
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.stats = Stats()
        self._bugs = BugLogger()

    def process_one(self, raw: RawEvent) -> list[Event]:
        """The documents one raw event produces: itself (or its dead letter) and alerts."""
        return self.process_batch([raw])

    def process_batch(self, raws: Sequence[RawEvent],
                      on_bug: Callable[[RawEvent, Exception], Event] | None = None) -> list[Event]:
        """:meth:`process_one` over a batch: each event (or dead letter) followed by its
        alerts, in input order (correlation windows see events as they came).

        ``on_bug``: called when an enricher or detector raises on an event; what it
        returns (a dead letter) replaces that event. Without it the exception propagates.
        """
        out: list[Event] = []
        for raw, event in zip(raws, parse_many(self.parser, raws, self.stats, self._bugs), strict=True):
            if event["event"]["kind"] == KIND_PIPELINE_ERROR:
                out.append(event)
                continue
            try:
                alerts = self._enrich_and_detect(event)
            except Exception as exc:
                if on_bug is None:
                    raise
                out.append(on_bug(raw, exc))
                continue
            out.append(event)
            out.extend(alerts)
        return out

    def _enrich_and_detect(self, event: Event) -> list[Event]:
        for enrich in self.enrichers:
            enrich(event)
        alerts: list[Event] = []
        for detector in self.detectors:
            found = detector.detect(event)
            self.stats.alerts += len(found)
            alerts.extend(found)
        return alerts

    def flush_detectors(self) -> list[Event]:
        """Alerts that only the passing of time produces (closing correlation windows)."""
        now = self.clock.now()
        alerts = [a for d in self.detectors for a in d.flush(now)]
        self.stats.alerts += len(alerts)
        return alerts

    def write(self, documents: Sequence[Event], isolate: bool = False) -> None:
        """Store a batch; per-document failures go to the dead letters, not away.

        A store that raises on the batch (anything but :class:`StoreError`: a document it
        cannot take, or a store bug) costs only the documents it refuses: the batch is
        split in halves until each refused document stands alone, and that one becomes a
        dead letter carrying the store's reason. A :class:`StoreError` (an outage, say)
        propagates for the caller to retry with back-off, unless ``isolate`` is set (the
        caller retried enough): then it is treated as a refusal too. If a dead letter
        cannot be stored either, the store is failing, not the document: StoreError.
        """
        if self.store is None or not documents:
            return
        if self.alert_stage is not None:
            alerts = [d for d in documents if d.get("event", {}).get("kind") == KIND_ALERT]
            if alerts:
                kept = self.alert_stage.before_store(alerts)
                documents = [d for d in documents if d.get("event", {}).get("kind") != KIND_ALERT] + kept
        self._write_part(documents, isolate)
        if self.alert_stage is not None:
            self.alert_stage.after_store()

    def _write_part(self, documents: Sequence[Event], isolate: bool) -> None:
        assert self.store is not None
        try:
            result = self.store.write(documents)
        except StoreError as exc:
            if not isolate:
                raise
            self._split(documents, exc, isolate)
            return
        except Exception as exc:
            self._bugs(f"store {self.store.name} raised on {len(documents)} documents; isolating", exc)
            self._split(documents, exc, isolate)
            return
        self.stats.stored += result.written
        self.stats.duplicates += result.duplicates
        if result.failed:
            self._refused(result.failed)

    def _split(self, documents: Sequence[Event], exc: Exception, isolate: bool) -> None:
        """Write the halves of a refused batch in turn (bisection: about log2(n) extra
        writes find one refused document); a document refused alone is a dead letter."""
        if len(documents) == 1:
            self._refused([(documents[0], f"{type(exc).__name__}: {exc}")])
            return
        middle = len(documents) // 2
        self._write_part(documents[:middle], isolate)
        self._write_part(documents[middle:], isolate)

    def _refused(self, failed: Sequence[tuple[Event, str]]) -> None:
        """Documents the store refused, stored as dead letters that keep them whole."""
        assert self.store is not None
        self.stats.store_failures += len(failed)
        letters = [_store_failure_letter(doc, reason, self.clock) for doc, reason in failed]
        try:
            retry = self.store.write(letters)
        except Exception as exc:
            raise StoreError(f"dead letters could not be stored: {type(exc).__name__}: {exc}") from exc
        self.stats.stored += retry.written
        self.stats.duplicates += retry.duplicates
        if retry.failed:
            # The dead-letter collection itself refuses: a store outage, not bad input.
            raise StoreError(f"{len(retry.failed)} dead letters could not be stored: {retry.failed[0][1]}")

    def run(self, raws: Iterable[RawEvent]) -> Stats:
        """Process and store everything, then flush time-driven detections."""
        for chunk in _chunks(raws, self.batch_size):
            self.write(self.process_batch(chunk))
        self.write(self.flush_detectors())
        return self.stats


def _store_failure_letter(document: Event, reason: str, clock: Clock) -> Event:
    """Wrap a document the store refused as a dead letter that keeps it whole."""
    meta = document.get("event")
    meta = meta if isinstance(meta, dict) else {}
    original = meta.get("original")
    raw_stamp = document.get("@timestamp")
    try:
        stamp = format_timestamp(parse_timestamp(raw_stamp if isinstance(raw_stamp, str) else ""))
    except (ValueError, OverflowError):
        stamp = format_timestamp(clock.now())  # the refused document had no usable time
    text = _document_text(document)
    event_id = meta.get("id")
    letter: Event = {
        "@timestamp": stamp,
        "event": {
            "id": event_id if isinstance(event_id, str) and event_id else compute_event_id(
                "store", None, text.encode("utf-8", "surrogatepass")),
            "kind": KIND_PIPELINE_ERROR,
            "dataset": "store",
            # The text a store can hold: lone surrogates (from a parser bug) escaped.
            "original": _storable(original) if isinstance(original, str) else text,
        },
        "error": {"message": f"store refused the document: {_storable(reason)}", "type": "store"},
    }
    if isinstance(original, str):
        letter["event"]["document"] = text  # what the store refused, beside the input
    if isinstance(meta.get("original_base64"), str):
        letter["event"]["original_base64"] = meta["original_base64"]
    return letter


def _document_text(document: Event) -> str:
    """The refused document as JSON text, whatever it holds (a last resort that escapes
    what orjson refuses: lone surrogates, objects it cannot serialise)."""
    try:
        return dumps(document).decode("utf-8")
    except (TypeError, ValueError):
        return json.dumps(document, default=repr, ensure_ascii=True)


def _storable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
