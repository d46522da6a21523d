"""The hash-chained audit trail on both stores: appends chain, concurrent appends neither lose
nor fork entries, and verify names the first entry whose bytes were changed."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from soc_core.audit import AuditLog, entry_hash, entry_id
from soc_core.clock import FrozenClock
from soc_core.contracts import Store
from soc_store.elasticsearch import ElasticsearchStore
from soc_store.sqlite import SqliteStore
from tests.soc_store.osmem import osmem_server  # noqa: F401 - a session fixture, used by name

CLOCK = FrozenClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite_store = SqliteStore(tmp_path / "audit.db")
        yield sqlite_store
        sqlite_store.close()
        return
    # A fresh index per test: id() of a collected object is reused, so it made two tests share one chain.
    prefix = f"audit-{uuid.uuid4().hex[:12]}"
    es_store = ElasticsearchStore(request.getfixturevalue("osmem_server"), index_prefix=prefix)
    yield es_store
    es_store.close()


def test_entries_chain_and_verify(store: Store) -> None:
    log = AuditLog(store.records("audit"), clock=CLOCK)
    first = log.append("analyst:lan", "incident.status", "incident:INC-1", {"from": "new", "to": "triaged"})
    second = log.append("system", "suppression.add", "suppression:SUP-1", {"query": "source.ip:10.0.0.1"})
    assert first["id"] == entry_id(1) and first["prev_hash"] == ""
    assert second["prev_hash"] == first["hash"] == entry_hash(first)
    assert [e["action"] for e in log.entries()] == ["incident.status", "suppression.add"]
    assert log.verify() is None


def test_an_empty_log_verifies(store: Store) -> None:
    assert AuditLog(store.records("audit")).verify() is None


def test_concurrent_appends_lose_nothing_and_keep_one_chain(store: Store) -> None:
    repo = store.records("audit")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        log = AuditLog(repo, clock=CLOCK)
        try:
            for i in range(8):
                log.append(f"worker-{n}", "action.run", f"action:{n}-{i}")
        except BaseException as exc:  # reported by the assertion below, whatever it is
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    log = AuditLog(repo)
    targets = [e["target"] for e in log.entries()]
    assert sorted(targets) == sorted(f"action:{n}-{i}" for n in range(4) for i in range(8))
    assert log.verify() is None


def test_one_changed_byte_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = SqliteStore(path)
    log = AuditLog(store.records("audit"), clock=CLOCK)
    for i in range(5):
        log.append("analyst:lan", "incident.comment", f"incident:INC-{i}", {"text": f"note {i}"})
    store.close()
    with sqlite3.connect(path) as db:
        (doc,) = db.execute("SELECT doc FROM records WHERE kind='audit' AND id=?", [entry_id(3)]).fetchone()
        changed = doc.replace("note 2", "note 7")
        assert changed != doc and len(changed) == len(doc)
        db.execute("UPDATE records SET doc=? WHERE kind='audit' AND id=?", [changed, entry_id(3)])
    broken = AuditLog(SqliteStore(path).records("audit")).verify()
    assert broken is not None and broken.seq == 3 and "hash" in broken.reason


def test_a_removed_last_entry_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = SqliteStore(path)
    log = AuditLog(store.records("audit"), clock=CLOCK)
    for i in range(3):
        log.append("system", "incident.create", f"incident:INC-{i}")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM records WHERE kind='audit' AND id=?", [entry_id(3)])
    broken = AuditLog(SqliteStore(path).records("audit")).verify()
    assert broken is not None and broken.seq == 3 and "missing" in broken.reason
