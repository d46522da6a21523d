"""The pipeline: every input leaves as exactly one stored document, plus alerts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ingest.pipeline import Pipeline
from parsers.base import BaseParser
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent
from soc_core.query import parse_query
from soc_store.sqlite import SqliteStore


class WordParser(BaseParser):
    """Test parser: 'bad' lines fail cleanly, 'boom' lines crash, 'notime' lines lose @timestamp."""

    id = "test.words"

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        if text.startswith("bad"):
            raise ParseError(self.id, "no words here")
        if text.startswith("boom"):
            raise RuntimeError("parser bug")
        event = self.new_event(raw)
        event["message"] = text
        if text.startswith("notime"):
            del event["@timestamp"]
        return event


class AttackDetector:
    name = "attack"

    def __init__(self) -> None:
        self.flushed: list[datetime] = []

    def detect(self, event: Event) -> list[Event]:
        if "attack" not in event.get("message", ""):
            return []
        alert = {**event, "event": {**event["event"], "kind": "alert", "id": "alert-" + event["event"]["id"]}}
        return [alert]

    def flush(self, now: datetime) -> list[Event]:
        self.flushed.append(now)
        return []


def raws(lines: list[str], clock: FrozenClock) -> list[RawEvent]:
    return [RawEvent.from_bytes(line.encode(), "/t/x.log", clock.now(), offset=i * 100) for i, line in enumerate(lines)]


def test_every_input_is_stored_once_as_event_or_dead_letter(tmp_path: Path, clock: FrozenClock) -> None:
    store = SqliteStore(tmp_path / "p.db")
    detector = AttackDetector()
    pipeline = Pipeline(WordParser(), store, [detector], clock=clock, batch_size=2)
    lines = ["hello", "bad line", "an attack here", "boom", "notime at all", "bye"]
    stats = pipeline.run(raws(lines, clock))

    assert (stats.received, stats.parsed, stats.failed, stats.alerts, stats.parser_bugs) == (6, 4, 2, 1, 1)
    assert stats.store_failures == 1  # the event without @timestamp
    everything = parse_query("*")
    assert store.count("events", everything) == 3
    assert store.count("alerts", everything) == 1
    letters = {e["event"]["original"]: e for e in store.search("dead_letters", everything).events}
    assert set(letters) == {"bad line", "boom", "notime at all"}
    assert letters["bad line"]["error"]["message"] == "no words here"
    assert letters["boom"]["error"]["message"].startswith("parser bug: RuntimeError")
    assert "store refused" in letters["notime at all"]["error"]["message"]
    assert detector.flushed == [clock.now()]

    again = Pipeline(WordParser(), store, [AttackDetector()], clock=clock).run(raws(lines, clock))
    assert again.stored == 0  # ids are deterministic: a re-run stores nothing twice
    store.close()


class FragileDetector(AttackDetector):
    """Raises on events that mention 'fragile' (a detector bug)."""

    name = "fragile"

    def detect(self, event: Event) -> list[Event]:
        if "fragile" in event.get("message", ""):
            raise KeyError("detector bug")
        return super().detect(event)


def test_a_detector_bug_turns_only_its_event_into_a_dead_letter(clock: FrozenClock) -> None:
    from soc_core.event import pipeline_error

    pipeline = Pipeline(WordParser(), None, [FragileDetector()], clock=clock)
    batch = raws(["an attack", "fragile thing", "bad line", "another attack"], clock)
    seen: list[str] = []

    def on_bug(raw: RawEvent, exc: Exception) -> Event:
        seen.append(f"{raw.message}: {exc!r}")
        return pipeline_error(raw, "pipeline", f"bug: {exc!r}")

    documents = pipeline.process_batch(batch, on_bug=on_bug)
    assert [(d["event"]["kind"], d["event"].get("original")) for d in documents] == [
        ("event", "an attack"), ("alert", "an attack"), ("pipeline_error", "fragile thing"),
        ("pipeline_error", "bad line"), ("event", "another attack"), ("alert", "another attack")]
    assert seen == ["fragile thing: KeyError('detector bug')"]
    # Without a handler the bug is the caller's to see, not swallowed.
    with pytest.raises(KeyError):
        pipeline.process_batch(batch)


def test_batches_are_bounded_in_bytes_as_well_as_in_events() -> None:
    """Issue 21 item 10: big lines make small batches (memory counted in bytes)."""
    from datetime import UTC, datetime

    from ingest.pipeline import _chunks
    from soc_core.event import RawEvent

    at = datetime(2026, 11, 22, tzinfo=UTC)
    raws = [RawEvent.from_bytes(b"x" * (1 << 20), "f", at, i) for i in range(40)]
    sizes = [len(c) for c in _chunks(raws, 1000, max_bytes=8 << 20)]
    assert sizes == [8] * 5
    assert [len(c) for c in _chunks(raws[:3], 2)] == [2, 1]
