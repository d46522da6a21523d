"""Checking and salvaging a damaged SQLite data file (the embedded store, the durable queue).

:func:`check` runs SQLite's own ``PRAGMA integrity_check``. :func:`salvage` copies every
row that can still be read into a fresh file with the same schema, table by table in
rowid order: a read that fails resumes after the last good row, then skips ahead in
growing steps until rows read again, so one damaged page costs the rows on it, not the
rest of the table. Indexes, full-text indexes and triggers are rebuilt by the inserts
(the full-text index of the store is filled by its insert trigger). The damaged file is
kept beside the repaired one, never deleted.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from soc_core.errors import DataFileError

_BATCH_ROWS = 1000
# Bounds of the skip-ahead over unreadable rowids: steps double from 1 to 2^40, and a
# table gives up after this many failed reads (each one a probe of the b-tree).
_MAX_STEP = 1 << 40
_MAX_FAILED_READS = 10_000


@dataclass
class TableSalvage:
    """What was copied of one table: rows kept, and the rowid ranges that could not be read."""

    name: str
    rows: int = 0
    unreadable: list[tuple[int, int]] = field(default_factory=list)  # (after rowid, resumed at rowid)
    error: str | None = None  # the table could not be read at all


@dataclass
class SalvageReport:
    """The outcome of :func:`salvage`: where the repaired and the damaged files are."""

    path: Path
    damaged_copy: Path
    tables: list[TableSalvage]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def complete(self) -> bool:
        """True when no range and no table was unreadable."""
        return all(not t.unreadable and t.error is None for t in self.tables)


def check(path: str | Path) -> list[str]:
    """SQLite's integrity check of the file: empty when it is sound, else its findings."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [str(exc)]
    try:
        rows = db.execute("PRAGMA integrity_check(100)").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        db.close()
    findings = [str(row[0]) for row in rows]
    return [] if findings == ["ok"] else findings


def salvage(path: str | Path, now: datetime | None = None) -> SalvageReport:
    """Rebuild ``path`` from what can be read of it; the damaged file is renamed to
    ``PATH.damaged-YYYYmmddTHHMMSS`` (with its ``-wal``). Raises :class:`DataFileError`
    when not even the schema can be read (nothing to rebuild from)."""
    source = Path(path)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    target = source.with_name(f"{source.name}.repairing-{stamp}")
    damaged_copy = source.with_name(f"{source.name}.damaged-{stamp}")
    old = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        schema = _schema(old, source)
        new = sqlite3.connect(target, isolation_level=None)
        try:
            # The schema version a store migrates by (PRAGMA user_version) goes along.
            with contextlib.suppress(sqlite3.DatabaseError):
                new.execute(f"PRAGMA user_version = {int(old.execute('PRAGMA user_version').fetchone()[0])}")
            shadow = _shadow_tables(schema)
            objects = [(kind, name, sql) for kind, name, sql in schema
                       if name not in shadow and not name.startswith("sqlite_")]
            for kind, _, sql in objects:
                if kind != "trigger":  # after the copy: the rows are not new events
                    new.execute(sql)
            tables: list[TableSalvage] = []
            for kind, name, sql in objects:
                if kind != "table":
                    continue
                if _is_virtual(sql) and "content=" in sql.replace(" ", "").lower():
                    # A full-text index over another table: rebuilt from it, not copied.
                    new.execute(f"INSERT INTO {_ident(name)}({_ident(name)}) VALUES ('rebuild')")  # noqa: S608
                else:
                    tables.append(_copy_table(old, new, name))
            for kind, _, sql in objects:
                if kind == "trigger":
                    new.execute(sql)
            _copy_sequences(old, new)
        finally:
            new.close()
    finally:
        old.close()
    source.rename(damaged_copy)
    for suffix in ("-wal", "-shm"):
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            extra.rename(damaged_copy.with_name(damaged_copy.name + suffix))
    target.rename(source)
    return SalvageReport(source, damaged_copy, tables)


def _schema(db: sqlite3.Connection, path: Path) -> list[tuple[str, str, str]]:
    """(type, name, sql) of every object, tables first so indexes and triggers find them."""
    try:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DataFileError(str(path), f"the schema cannot be read, nothing to rebuild from: {exc}") from None
    # Content tables before the full-text tables built from them (rebuilt from them).
    order = {"table": 0, "index": 1, "view": 2, "trigger": 3}
    return sorted(((str(t), str(n), str(s)) for t, n, s in rows),
                  key=lambda row: (order.get(row[0], 4), _is_virtual(row[2])))


def _shadow_tables(schema: list[tuple[str, str, str]]) -> set[str]:
    """Tables a virtual table (FTS5) creates and fills itself: recreated, never copied."""
    virtual = [name for kind, name, sql in schema if kind == "table" and _is_virtual(sql)]
    return {name for kind, name, _ in schema for v in virtual if kind == "table" and name.startswith(v + "_")}


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, name: str) -> TableSalvage:
    report = TableSalvage(name)
    try:
        columns = [str(row[1]) for row in old.execute(f"PRAGMA table_info({_ident(name)})")]
    except sqlite3.DatabaseError as exc:
        report.error = str(exc)
        return report
    # Identifiers come from the file's own schema, quoted by _ident; values are parameters.
    quoted = ", ".join(_ident(c) for c in columns)
    select = f"SELECT rowid, {quoted} FROM {_ident(name)} WHERE rowid > ? ORDER BY rowid LIMIT {_BATCH_ROWS}"  # noqa: S608
    marks = ", ".join("?" * (len(columns) + 1))
    insert = f"INSERT OR IGNORE INTO {_ident(name)} (rowid, {quoted}) VALUES ({marks})"  # noqa: S608
    after, step, failures = -(1 << 63), 1, 0
    while failures < _MAX_FAILED_READS:
        try:
            rows = _read(old, select, after)
        except sqlite3.DatabaseError:
            failures += 1
            if step > _MAX_STEP:
                report.unreadable.append((after, after + step))
                break
            step *= 2
            # Probe past the damage: the next readable row after a growing gap.
            try:
                probe = _read(old, select, after + step)
            except sqlite3.DatabaseError:
                continue
            report.unreadable.append((after, probe[0][0] if probe else after + step))
            rows = probe
        else:
            step = 1
        if not rows:
            break
        new.execute("BEGIN")
        new.executemany(insert, rows)
        new.execute("COMMIT")
        report.rows += len(rows)
        after = int(rows[-1][0])
    else:
        report.error = f"gave up after {failures} unreadable reads"
    return report


def _copy_sequences(old: sqlite3.Connection, new: sqlite3.Connection) -> None:
    """AUTOINCREMENT counters: a queue numbers its events by them and reads only numbers
    above the last acknowledged one, so they must not restart lower after a rebuild."""
    try:
        rows = old.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
    except sqlite3.DatabaseError:
        return  # no AUTOINCREMENT table, or the counters are unreadable: the rows' own ids stay
    for name, seq in rows:
        if new.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, name)).rowcount == 0:
            new.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))


def _is_virtual(sql: str) -> bool:
    return sql.lstrip().upper().startswith("CREATE VIRTUAL")


def _ident(name: str) -> str:
    """An SQL identifier, quoted (a quote inside doubled): safe whatever the file holds."""
    return '"' + name.replace('"', '""') + '"'


def _read(db: sqlite3.Connection, select: str, after: int) -> list[tuple[Any, ...]]:
    """One batch after ``after``; a batch that fails midway is read again row by row so
    the rows before the damage are kept."""
    try:
        return db.execute(select, (after,)).fetchall()
    except sqlite3.DatabaseError:
        rows: list[tuple[Any, ...]] = []
        cursor = db.execute(select, (after,))
        with contextlib.suppress(sqlite3.DatabaseError):
            for row in cursor:
                rows.append(row)
        if not rows:
            raise
        return rows
