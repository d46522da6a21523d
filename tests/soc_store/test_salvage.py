"""Issue #21 item 13: ``soc repair`` on really corrupted files (pages overwritten on disk):
every readable row comes back, indexes and the full-text index are rebuilt, the damaged
file is kept, and what was lost is said."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.datadir import DataDirLock
from ingest.queue import DurableQueue
from soc_api.cli import cli
from soc_core.errors import DataFileError
from soc_core.event import RawEvent
from soc_core.query import MatchAll, parse_query
from soc_store.salvage import check, salvage
from soc_store.sqlite import SqliteStore
from tests.soc_store.sample import BASE

PAGE = 4096


def _events(count: int) -> list[dict[str, object]]:
    return [{"@timestamp": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
             "event": {"id": f"e{i}", "kind": "event"}, "source": {"ip": f"10.0.{i % 250}.1"},
             "message": f"failed password for user{i} from host{i} " * 3} for i in range(count)]


def _leaf_pages(path: Path, table: str) -> list[int]:
    """The data pages of ``table`` (SQLite's dbstat table), in page order: the pages to
    damage for a test to hit rows, not only an index that a rebuild restores anyway."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file first
    pages = [int(p) - 1 for (p,) in db.execute(
        "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,))]
    db.close()
    return pages


def _corrupt(path: Path, pages: tuple[int, ...]) -> None:
    """Overwrite whole pages on disk (0-based page numbers), as a failing disk would."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with path.open("r+b") as stream:
        for page in pages:
            stream.seek(page * PAGE)
            stream.write(b"\xde\xad" * (PAGE // 2))


def _sequence(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'queue'").fetchone()[0])
    finally:
        db.close()


def _store(path: Path, count: int) -> None:
    store = SqliteStore(path)
    assert store.write(_events(count)).written == count
    store.close()


def test_a_corrupted_store_is_rebuilt_from_its_readable_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _store(path, 5000)
    leaves = _leaf_pages(path, "events")
    _corrupt(path, (leaves[len(leaves) // 3], leaves[2 * len(leaves) // 3], leaves[2 * len(leaves) // 3 + 1]))
    assert check(path)  # SQLite itself sees the damage
    report = salvage(path)
    assert check(path) == []
    assert report.damaged_copy.exists() and report.damaged_copy != path
    events = next(t for t in report.tables if t.name == "events")
    lost = sum(resumed - after - 1 for after, resumed in events.unreadable)
    assert events.unreadable and 0 < lost < 200
    store = SqliteStore(path)
    kept = store.count("events", MatchAll())
    assert kept == events.rows and 4800 < kept < 5000
    # The full-text index and the hot-column indexes answer for every kept row.
    assert store.count("events", parse_query('"failed password"')) == kept
    assert store.count("events", parse_query("source.ip:10.0.1.1")) == sum(
        1 for e in store.search("events", MatchAll(), limit=10_000).events if e["source"]["ip"] == "10.0.1.1")
    assert store.write(_events(5000)).written == 5000 - kept  # the lost ones can be ingested again
    store.close()


def test_a_corrupted_queue_keeps_its_readable_events_and_acknowledgements(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    queue = DurableQueue(path)
    queue.put_sync([RawEvent.from_bytes(b"line %d " % i + b"x" * 200, "tcp://h", BASE) for i in range(3000)])
    batch = queue.read(100)
    assert batch is not None
    queue.ack(batch.last_seq)
    queue.close()
    leaves = _leaf_pages(path, "queue")
    _corrupt(path, (leaves[len(leaves) // 2], leaves[len(leaves) // 2 + 1]))
    before = _sequence(path)
    report = salvage(path)
    assert not report.complete
    assert _sequence(path) == before == 3000  # new events are numbered after every old one
    queue = DurableQueue(path)
    assert 2000 < queue.depth < 2900
    first = queue.read(1)
    assert first is not None and first.events[0].data.startswith(b"line 100 ")  # acked stays acked
    queue.close()


def test_a_file_without_a_readable_schema_cannot_be_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"not a database at all" * 500)
    with pytest.raises(DataFileError, match="nothing to rebuild from"):
        salvage(path)
    assert path.exists()  # nothing moved


def test_soc_repair_reports_in_both_languages_and_by_exit_status(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _store(path, 3000)
    runner = CliRunner()
    sound = runner.invoke(cli, ["repair", str(path)])
    assert sound.exit_code == 0 and "không cần sửa / sound, nothing to repair" in sound.output
    leaves = _leaf_pages(path, "events")
    _corrupt(path, (leaves[len(leaves) // 2],))
    checked = runner.invoke(cli, ["repair", "--check", str(path)])
    assert checked.exit_code == 1 and "tệp bị hỏng / damaged" in checked.output
    repaired = runner.invoke(cli, ["repair", str(path)])
    assert repaired.exit_code == 1  # rows were lost: said, and not a silent success
    assert "rebuilt from what could be read" in repaired.output and "unreadable (lost)" in repaired.output
    assert runner.invoke(cli, ["repair", str(path)]).exit_code == 0
    garbage = tmp_path / "other.db"
    garbage.write_bytes(b"junk" * 2000)
    failed = runner.invoke(cli, ["repair", str(garbage)])
    assert failed.exit_code == 2 and "cannot be repaired" in failed.stderr


def test_soc_repair_refuses_while_a_service_holds_the_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _store(path, 500)
    _corrupt(path, (_leaf_pages(path, "events")[1],))
    lock = DataDirLock(tmp_path)
    lock.acquire()
    try:
        result = CliRunner().invoke(cli, ["repair", str(path)])
    finally:
        lock.release()
    assert result.exit_code == 2 and "in use by another soc run" in result.stderr
    assert check(path)  # untouched
