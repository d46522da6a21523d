"""The event model: deterministic ids, UTC timestamps, dotted paths, dead letters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from soc_core.event import (
    RawEvent,
    add_related,
    compute_event_id,
    flatten,
    format_timestamp,
    get_field,
    new_event,
    parse_timestamp,
    pipeline_error,
    set_field,
    timestamp_micros,
    unflatten,
)
from tests.conftest import FROZEN_AT


def test_event_id_is_deterministic_and_depends_on_source_offset_and_bytes() -> None:
    a = compute_event_id("/var/log/a", 10, b"line")
    assert a == compute_event_id("/var/log/a", 10, b"line")
    assert len({a, compute_event_id("/var/log/b", 10, b"line"), compute_event_id("/var/log/a", 11, b"line"),
                compute_event_id("/var/log/a", 10, b"line2"), compute_event_id("/var/log/a", None, b"line")}) == 5


def test_timestamps_are_utc_and_refuse_naive() -> None:
    ict = timezone(timedelta(hours=7))
    assert format_timestamp(datetime(2026, 1, 1, 7, 0, tzinfo=ict)) == "2026-01-01T00:00:00.000Z"
    assert format_timestamp(datetime(2026, 1, 1, 0, 0, 0, 1500, tzinfo=ict)).endswith(".001500Z")
    with pytest.raises(ValueError, match="naive"):
        format_timestamp(datetime(2026, 1, 1))
    assert parse_timestamp("2026-01-01T07:00:00+07:00") == parse_timestamp("2026-01-01T00:00:00Z")
    assert timestamp_micros("1970-01-01T00:00:01.5Z") == 1_500_000


def test_paths_flatten_and_related() -> None:
    event: dict[str, object] = {}
    set_field(event, "source.ip", "10.0.0.1")
    set_field(event, "source.port", 22)
    assert get_field(event, "source.ip") == "10.0.0.1"
    assert get_field(event, "source.nope") is None
    assert flatten(event) == {"source.ip": "10.0.0.1", "source.port": 22}
    assert unflatten(flatten(event)) == event
    add_related(event, "ip", "10.0.0.1", "10.0.0.1", None, "10.0.0.2")
    assert event["related"] == {"ip": ["10.0.0.1", "10.0.0.2"]}


def test_new_event_and_dead_letter_keep_the_original() -> None:
    raw = RawEvent.from_bytes(b"hello \xff world", "/logs/x.log", FROZEN_AT, offset=42)
    event = new_event(raw, "system.syslog")
    assert event["event"]["dataset"] == "system.syslog" and event["event"]["module"] == "system"
    assert event["log"] == {"file": {"path": "/logs/x.log"}, "offset": 42}
    letter = pipeline_error(raw, "system.syslog", "no header")
    assert letter["event"]["kind"] == "pipeline_error"
    assert "invalid UTF-8 at byte 6" in letter["error"]["message"]
    import base64

    assert base64.b64decode(letter["event"]["original_base64"]) == raw.data
    assert letter["event"]["id"] == event["event"]["id"] == raw.event_id
