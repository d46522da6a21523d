"""The event model: deterministic ids, UTC timestamps, dotted paths, dead letters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from soc_core.event import (
    MAX_KEY_CHARS,
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
    store_document,
    store_safe,
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


def test_a_parsed_event_keeps_the_exact_bytes_that_were_not_utf8() -> None:
    """Issue #21 item 12: only dead letters kept them; a parsed event had U+FFFD only."""
    import base64

    raw = RawEvent.from_bytes(b"user=Nguy\xe1\xbb\x85n \xc0\xff ok", "udp://h", FROZEN_AT)
    event = new_event(raw, "system.syslog")
    assert "\ufffd" in event["event"]["original"]
    assert base64.b64decode(event["event"]["original_base64"]) == raw.data
    clean = new_event(RawEvent.from_bytes("Nguyễn ok".encode(), "udp://h", FROZEN_AT), "system.syslog")
    assert "original_base64" not in clean["event"]


def test_store_safe_rewrites_what_no_store_holds_exactly_and_marks_it() -> None:
    """Issue #21 item 1: integers beyond 64 bits, NaN, infinities, over-long or empty keys."""
    event = {"event": {"id": "x"}, "a": 2**63, "b": -(2**63) - 1, "c": [1, float("nan"), {"d": float("-inf")}],
             "e": {"k" * (MAX_KEY_CHARS + 1): 1, "": 2}, "ok": 2**63 - 1, "soc": {"sanitized": ["earlier"]}}
    safe = store_safe(event)
    assert safe is not event and event["a"] == 2**63  # the input is not changed
    assert (safe["a"], safe["b"], safe["c"], safe["ok"]) == (
        str(2**63), str(-(2**63) - 1), [1, "NaN", {"d": "-Infinity"}], 2**63 - 1)
    keys = list(safe["e"])
    assert keys[1] == "_" and len(keys[0]) == MAX_KEY_CHARS and keys[0].startswith("k" * 200)
    assert safe["soc"]["sanitized"] == ["earlier", "a", "b", "c", "c.d", f"e.{keys[0]}", "e._"]
    # Two long keys that share their first characters stay apart.
    twins = store_safe({"x": {"k" * 300 + "1": 1, "k" * 300 + "2": 2}})
    assert len(twins["x"]) == 2


def test_a_safe_event_is_not_copied() -> None:
    event = {"event": {"id": "x", "n": 2**63 - 1}, "tags": ["a", 1.5, None, True], "k" * MAX_KEY_CHARS: 1}
    assert store_safe(event) is event
    doc_event, doc = store_document(event)
    assert doc_event is event and doc.startswith(b'{"event"')
