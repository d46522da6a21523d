"""Embedded store specifics the contract suite does not reach: value types in the hot
columns, and stores written by an earlier schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from soc_core.event import Event
from soc_core.query import parse_query
from soc_store.sqlite import SqliteStore


def _event(n: int, name: object) -> Event:
    return {"@timestamp": f"2026-01-01T00:00:0{n}.000Z", "event": {"id": f"e{n}", "kind": "event"},
            "user": {"name": name}}


def _ids(store: SqliteStore, query: str) -> set[str]:
    return {e["event"]["id"] for e in store.search("events", parse_query(query)).events}


def test_numeric_looking_text_in_a_hot_field_stays_text(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.write([_event(1, "5"), _event(2, 5)])
    # A numeric range compares numbers only: the text "5" is a keyword, the number 5 is not.
    assert _ids(store, "user.name:[1 TO 9]") == {"e2"}
    assert _ids(store, "user.name:5") == {"e1", "e2"}
    assert store.get("events", "e1")["user"]["name"] == "5"  # type: ignore[index]
    store.close()


def test_a_store_written_with_numeric_affinity_is_rebuilt_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SqliteStore(path).close()
    # What stores made before this version look like: hot columns declared ANY (NUMERIC
    # affinity), so the text "5" was kept as the integer 5.
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE events_fts; DROP TABLE events_multi; DROP TABLE events;")
    db.executescript(
        "CREATE TABLE events (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, kind ANY, "
        "dataset ANY, source_ip ANY, destination_ip ANY, host_name ANY, user_name ANY, rule_id ANY, message TEXT, "
        "doc TEXT NOT NULL);"
        "CREATE TABLE events_multi (rid INTEGER NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL, value ANY);")
    db.execute("INSERT INTO events (id, ts, kind, user_name, doc) VALUES ('e1', 1767225601000000, 'event', '5', "
               "'{\"@timestamp\":\"2026-01-01T00:00:01.000Z\",\"event\":{\"id\":\"e1\",\"kind\":\"event\"},"
               "\"user\":{\"name\":\"5\"}}')")
    db.commit()
    assert db.execute("SELECT typeof(user_name) FROM events").fetchone() == ("integer",)
    db.close()
    store = SqliteStore(path)
    assert _ids(store, "user.name:[1 TO 9]") == set()
    assert _ids(store, "user.name:5") == {"e1"}
    assert store.count("events", parse_query("*")) == 1
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT typeof(user_name) FROM events").fetchone() == ("text",)
    db.close()


def test_a_store_written_before_searchable_words_is_reindexed_on_opening(tmp_path: Path) -> None:
    """Issue #20 item 1: stores whose full-text index holds the raw message (so ``đ`` was not
    folded) are re-indexed once when opened, and ``dang`` then finds ``đăng``."""
    path = tmp_path / "old.db"
    store = SqliteStore(path)
    event = {"@timestamp": "2026-01-01T00:00:00Z", "event": {"id": "vi", "kind": "event"},
             "message": "Người dùng đăng nhập"}
    store.write([event])
    store.close()
    # Put the database back in the old layout: raw message indexed, user_version 0.
    db = sqlite3.connect(path)
    db.execute("UPDATE events SET message = ?", ["Người dùng đăng nhập"])
    db.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()
    reopened = SqliteStore(path)
    try:
        assert reopened.count("events", parse_query("dang")) == 1
        assert reopened.count("events", parse_query('"đăng nhập"')) == 1
    finally:
        reopened.close()
