"""The embedded store: one SQLite file (WAL), no server — the default on one machine.

Each collection (events, alerts, dead letters) is a table holding the JSON document plus
indexed hot columns (``@timestamp`` as integer microseconds, ``event.kind``,
``event.dataset``, ``source.ip``, ``destination.ip``, ``host.name``, ``user.name``,
``rule.id``), an FTS5 index on the searchable text, and a side table for list-valued hot fields.
The ``message`` column holds the searchable text (``message``, else ``event.original``) with
``đ``/``Đ`` folded (:func:`soc_core.query.text.fts_text`), so that ``đ`` matches ``d`` as the
reference does: FTS5's ``remove_diacritics`` folds the other marks, not ``đ`` (a letter of its own).
Mutable records (incidents...) live in ``records`` with an optimistic ``version``.
"""

from __future__ import annotations

import builtins
import ipaddress
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from soc_core.contracts import (
    ALL_TIME,
    COLLECTIONS,
    Bucket,
    Collection,
    Health,
    Order,
    Page,
    Record,
    TimeRange,
    WriteResult,
    collection_of,
)
from soc_core.errors import DataFileError, InvalidParameter, NotFound, StoreError, VersionConflict
from soc_core.event import (
    INT64_MAX,
    INT64_MIN,
    Event,
    dumps,
    format_timestamp,
    get_field,
    loads,
    store_document,
    timestamp_micros,
)
from soc_core.query.ast import Node
from soc_core.query.text import fts_text
from soc_core.record_terms import filter_terms, record_terms
from soc_store.sql_compile import HOT_COLUMNS, compile_query, json_path


@lru_cache(maxsize=512)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _cidr_match(value: Any, network: str) -> int:
    net = _network(network)
    if net is None or not isinstance(value, str):
        return 0
    try:
        return int(ipaddress.ip_address(value) in net)
    except ValueError:
        return 0


def _schema(table: str) -> str:
    # BLOB: no type affinity, so a value keeps its JSON type ("5" stays text; a column
    # declared ANY in an ordinary table has NUMERIC affinity and would store 5).
    hot = ", ".join(f"{col} BLOB" for col in HOT_COLUMNS.values())
    # Partial indexes: most events leave most hot fields empty, and an index entry per NULL
    # would cost every insert for nothing. event.kind is constant within a collection.
    indexes = "\n".join(
        f"CREATE INDEX IF NOT EXISTS {table}_{col} ON {table}({col}, ts) WHERE {col} IS NOT NULL;"
        for col in HOT_COLUMNS.values()
        if col != "kind"
    )
    return f"""
CREATE TABLE IF NOT EXISTS {table} (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    {hot},
    message TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {table}_ts ON {table}(ts, rid);
{indexes}
CREATE TABLE IF NOT EXISTS {table}_multi (
    rid INTEGER NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL, value BLOB
);
CREATE INDEX IF NOT EXISTS {table}_multi_fv ON {table}_multi(field, value);
CREATE INDEX IF NOT EXISTS {table}_multi_rid ON {table}_multi(rid);
CREATE VIRTUAL TABLE IF NOT EXISTS {table}_fts USING fts5(
    message, content='{table}', content_rowid='rid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS {table}_ai AFTER INSERT ON {table} WHEN new.message IS NOT NULL BEGIN
    INSERT INTO {table}_fts(rowid, message) VALUES (new.rid, new.message);
END;
CREATE TRIGGER IF NOT EXISTS {table}_ad AFTER DELETE ON {table} BEGIN
    INSERT INTO {table}_fts({table}_fts, rowid, message)
        SELECT 'delete', old.rid, old.message WHERE old.message IS NOT NULL;
    DELETE FROM {table}_multi WHERE rid = old.rid;
END;
"""


# PRAGMA user_version: 1 = the message column holds fts_text (older stores held the raw
# message, đ unfolded, and get their full-text index rebuilt once on opening).
_SEARCH_TEXT_VERSION = 1

_RECORDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    updated INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS record_terms (
    kind TEXT NOT NULL, id TEXT NOT NULL, term TEXT NOT NULL, PRIMARY KEY (kind, id, term)
);
CREATE INDEX IF NOT EXISTS record_terms_by_term ON record_terms (kind, term);
"""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "text"
    return "array" if isinstance(value, list) else "object"


_COLUMNS = ["id", "ts", *HOT_COLUMNS.values(), "message", "doc"]
_INSERT_SQL: dict[str, str] = {
    table: f"INSERT OR IGNORE INTO {table} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    for table in COLLECTIONS
}

# Every hot field is two levels deep (``source.ip``): looked up directly on the hot path.
_HOT_PATHS: tuple[tuple[str, tuple[str, str]], ...] = tuple(
    (name, (name.split(".")[0], name.split(".")[1])) for name in HOT_COLUMNS
)


def _encode_cursor(ts: int, rid: int) -> str:
    return f"{ts}:{rid}"


def _decode_cursor(cursor: str) -> tuple[int, int]:
    ts_text, sep, rid_text = cursor.partition(":")
    # Two signed 64-bit integers (SQLite's INTEGER): anything else never came from us.
    if not sep or len(cursor) > 41 or not all(_INT_TEXT.fullmatch(t) for t in (ts_text, rid_text)):
        raise InvalidParameter("cursor", "not a cursor of this store", cursor)
    ts, rid = int(ts_text), int(rid_text)
    if not all(INT64_MIN <= v <= INT64_MAX for v in (ts, rid)):
        raise InvalidParameter("cursor", "out of range", cursor)
    return ts, rid


_INT_TEXT = re.compile(r"-?[0-9]{1,19}")


class SqliteStore:
    """The embedded store (see the module docstring). Thread-safe: one lock per store."""

    name = "sqlite"

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """Open (and create, unless ``read_only``) the store at ``path``.

        ``read_only`` is for commands that only read (``soc search``): a path holding no
        store is refused instead of becoming an empty store, and a store on a read-only
        file system or in a directory this user cannot write is still readable.
        """
        self.path = str(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        try:
            self._db = self._open_read_only() if read_only else self._open_for_writing()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(_open_failure(self.path, exc, read_only)) from None
        self._db.create_function("cidr_match", 2, _cidr_match, deterministic=True)

    def _open_read_only(self) -> sqlite3.Connection:
        if self.path == ":memory:" or not Path(self.path).is_file():
            raise StoreError(
                f"no store at {self.path}: check the path (soc ingest and soc run create a store, "
                "soc search does not)"
            )
        uri = f"file:{quote(str(Path(self.path).resolve()))}?mode=ro"
        # A WAL database is only readable where its -shm file can be created, unless it is
        # opened immutable: right for a read-only file system or directory, where nobody
        # can be writing to it through this path either.
        if not os.access(Path(self.path).parent, os.W_OK):
            uri += "&immutable=1"
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=30)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # fails now on a non-database
        return db

    def _open_for_writing(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            self._open()
        except sqlite3.DatabaseError as exc:  # corrupted, or not a database at all
            self._db.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise StoreError(f"sqlite {self.path}: {exc}") from None
            if isinstance(exc, sqlite3.OperationalError) and ("unable to open" in str(exc) or "readonly" in str(exc)):
                raise  # permissions or a read-only file system, not damage: __init__ says so
            raise DataFileError(self.path, f"cannot open the store: {exc}") from None
        return self._db

    def _open(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB: index updates stay in memory
        for table in COLLECTIONS:
            self._db.executescript(_schema(table))
            # Merge full-text segments in larger steps: fewer merges per insert.
            self._db.execute(f"INSERT INTO {table}_fts({table}_fts, rank) VALUES ('automerge', 16)")
        self._db.executescript(_RECORDS_SCHEMA)
        for table in COLLECTIONS:
            self._migrate_affinity(table)
        self._migrate_search_text()

    def _migrate_affinity(self, table: Collection) -> None:
        """Stores made before hot columns were BLOB kept numeric-looking text as numbers:
        rebuild such a table from its documents (the JSON text is exact) once."""
        declared = {row[1]: str(row[2]).upper() for row in self._db.execute(f"PRAGMA table_info({table})")}
        if declared.get(next(iter(HOT_COLUMNS.values()))) == "BLOB":
            return
        docs = [loads(doc) for (doc,) in self._db.execute(f"SELECT doc FROM {table} ORDER BY rid")]
        with self._lock:
            for name in (f"{table}_fts", f"{table}_multi", table):
                self._db.execute(f"DROP TABLE IF EXISTS {name}")
            self._db.executescript(_schema(table))
            self._db.execute(f"INSERT INTO {table}_fts({table}_fts, rank) VALUES ('automerge', 16)")
        for start in range(0, len(docs), 1000):
            self.write(docs[start:start + 1000])

    def _migrate_search_text(self) -> None:
        """Re-index the full text of a store written before the searchable-words layout."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version >= _SEARCH_TEXT_VERSION:
            return
        self._db.create_function(
            "soc_fts_text", 1, lambda doc: fts_text(loads(doc)), deterministic=True
        )
        with self._tx() as db:
            for table in COLLECTIONS:
                db.execute(f"UPDATE {table} SET message = soc_fts_text(doc)")
                db.execute(f"INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')")
            db.execute(f"PRAGMA user_version = {_SEARCH_TEXT_VERSION}")

    # -- plumbing ---------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite {self.path}: {exc}") from exc

    def _where(
        self, collection: Collection, query: Node, time_range: TimeRange
    ) -> tuple[str, list[Any]]:
        if collection not in COLLECTIONS:
            raise StoreError(f"unknown collection {collection!r}")
        compiled = compile_query(query, collection)
        where, params = [compiled.where], list(compiled.params)
        if time_range.start is not None:
            where.append(f"{collection}.ts >= ?")
            params.append(timestamp_micros(time_range.start))
        if time_range.end is not None:
            where.append(f"{collection}.ts < ?")
            params.append(timestamp_micros(time_range.end))
        return " AND ".join(where), params

    # -- events -----------------------------------------------------------------------

    def write(self, events: Sequence[Event]) -> WriteResult:
        result = WriteResult()
        plain: dict[Collection, list[list[Any]]] = {}
        with_multi: list[tuple[Collection, list[Any], list[tuple[str, str, Any]]]] = []
        for event in events:
            try:
                values, multi = self._row(event)
            except (ValueError, TypeError) as exc:
                result.failed.append((event, f"invalid document: {exc}"))
                continue
            table = collection_of(event)
            if multi:
                with_multi.append((table, values, multi))
            else:
                plain.setdefault(table, []).append(values)
        try:
            self._insert(plain, with_multi, result)
        except sqlite3.Error as exc:
            # The file, not a document (locked, full, corrupted): the caller retries.
            raise StoreError(f"sqlite {self.path}: {exc}") from exc
        return result

    def _insert(self, plain: dict[Collection, list[list[Any]]],
                with_multi: list[tuple[Collection, list[Any], list[tuple[str, str, Any]]]],
                result: WriteResult) -> None:
        with self._tx() as db:
            # One executemany per collection for the common case; the summed row count
            # tells new documents from ones already stored (INSERT OR IGNORE).
            for table, rows in plain.items():
                cur = db.executemany(_INSERT_SQL[table], rows)
                result.written += cur.rowcount
                result.duplicates += len(rows) - cur.rowcount
            # Documents with list-valued hot fields also need their side-table rows,
            # and only when they are new: one by one.
            for table, values, multi in with_multi:
                cur = db.execute(_INSERT_SQL[table], values)
                if cur.rowcount == 1:
                    result.written += 1
                    db.executemany(
                        f"INSERT INTO {table}_multi (rid, field, type, value) VALUES (?, ?, ?, ?)",
                        [(cur.lastrowid, *m) for m in multi],
                    )
                else:
                    result.duplicates += 1

    @staticmethod
    def _row(event: Event) -> tuple[list[Any], list[tuple[str, str, Any]]]:
        # 64-bit integers, no NaN, sane keys: the same rewrite as every store.
        event, doc = store_document(event)
        event_id = get_field(event, "event.id")
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("event.id is missing")
        stamp = event.get("@timestamp")
        if not isinstance(stamp, str):
            raise ValueError("@timestamp is missing")
        values: list[Any] = [event_id, timestamp_micros(stamp)]
        multi: list[tuple[str, str, Any]] = []
        for field_name, (outer, inner) in _HOT_PATHS:
            parent = event.get(outer)
            value = parent.get(inner) if isinstance(parent, dict) else get_field(event, field_name)
            if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
                values.append(value)
                continue
            values.append(None)
            items = value if isinstance(value, list) else [] if value is None or value == {} else [value]
            for item in items:
                if item is None:
                    continue
                kind = _json_type(item)
                stored = item if kind in ("text", "integer", "real") else None
                multi.append((field_name, kind, stored))
        values.append(fts_text(event))
        values.append(doc.decode())
        return values, multi

    def get(self, collection: Collection, event_id: str) -> Event | None:
        rows = self._query(f"SELECT doc FROM {collection} WHERE id = ?", [event_id])
        return loads(rows[0][0]) if rows else None

    def search(
        self,
        collection: Collection,
        query: Node,
        time_range: TimeRange = ALL_TIME,
        limit: int = 100,
        cursor: str | None = None,
        order: Order = "desc",
    ) -> Page:
        where, params = self._where(collection, query, time_range)
        if cursor is not None:
            ts, rid = _decode_cursor(cursor)
            where += f" AND ({collection}.ts, {collection}.rid) {'<' if order == 'desc' else '>'} (?, ?)"
            params += [ts, rid]
        direction = "DESC" if order == "desc" else "ASC"
        rows = self._query(
            f"SELECT ts, rid, doc FROM {collection} WHERE {where} "
            f"ORDER BY ts {direction}, rid {direction} LIMIT ?",
            [*params, limit],
        )
        events = [loads(doc) for _, _, doc in rows]
        next_cursor = _encode_cursor(rows[-1][0], rows[-1][1]) if len(rows) == limit and rows else None
        return Page(events, next_cursor)

    def count(self, collection: Collection, query: Node, time_range: TimeRange = ALL_TIME) -> int:
        where, params = self._where(collection, query, time_range)
        return int(self._query(f"SELECT COUNT(*) FROM {collection} WHERE {where}", params)[0][0])

    def terms(
        self, collection: Collection, query: Node, field: str, size: int = 10,
        time_range: TimeRange = ALL_TIME,
    ) -> list[Bucket]:
        where, params = self._where(collection, query, time_range)
        path = json_path(field)
        rows = self._query(
            f"SELECT je.type, je.value, COUNT(DISTINCT {collection}.rid) AS n "
            f"FROM {collection}, json_each({collection}.doc, ?) je "
            f"WHERE json_type({collection}.doc, ?) != 'object' "
            f"AND je.type IN ('text', 'integer', 'real', 'true', 'false') AND {where} "
            f"GROUP BY je.type, je.value",
            [path, path, *params],
        )
        buckets = [Bucket(_from_sql(t, v), int(n)) for t, v, n in rows]
        buckets.sort(key=lambda b: (-b.count, str(b.key)))
        return buckets[:size]

    def date_histogram(
        self, collection: Collection, query: Node, interval_seconds: int,
        time_range: TimeRange = ALL_TIME,
    ) -> list[Bucket]:
        if interval_seconds <= 0:
            raise StoreError("interval_seconds must be positive")
        where, params = self._where(collection, query, time_range)
        step = interval_seconds * 1_000_000
        rows = self._query(
            f"SELECT ts - (((ts % ?) + ?) % ?) AS bucket, COUNT(*) FROM {collection} "
            f"WHERE {where} GROUP BY bucket ORDER BY bucket",
            [step, step, step, *params],
        )
        return [
            Bucket(format_timestamp(datetime.fromtimestamp(b / 1_000_000, UTC)), int(n)) for b, n in rows
        ]

    def cardinality(
        self, collection: Collection, query: Node, field: str, time_range: TimeRange = ALL_TIME,
    ) -> int:
        where, params = self._where(collection, query, time_range)
        path = json_path(field)
        rows = self._query(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT je.type, je.value "
            f"FROM {collection}, json_each({collection}.doc, ?) je "
            f"WHERE json_type({collection}.doc, ?) != 'object' "
            f"AND je.type IN ('text', 'integer', 'real', 'true', 'false') AND {where})",
            [path, path, *params],
        )
        return int(rows[0][0])

    def purge_older_than(self, cutoff: datetime) -> int:
        micros = timestamp_micros(cutoff)
        removed = 0
        with self._tx() as db:
            for table in COLLECTIONS:
                removed += db.execute(f"DELETE FROM {table} WHERE ts < ?", [micros]).rowcount
        return removed

    # -- records ----------------------------------------------------------------------

    def records(self, kind: str) -> SqliteRecords:
        return SqliteRecords(self, kind)

    def healthcheck(self) -> Health:
        try:
            self._query("SELECT 1", [])
        except StoreError as exc:
            return Health(False, str(exc))
        return Health(True, f"sqlite {sqlite3.sqlite_version} at {self.path}")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _open_failure(path: str, exc: BaseException, read_only: bool) -> str:
    """One line saying what failed, where, and what to do."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    where = getattr(exc, "filename", None) or path
    if read_only:
        return f"cannot read the store {where}: {reason} (check the path and that this user may read it)"
    return (
        f"cannot open the store {where} for writing: {reason} "
        f"(the file and its directory must be writable by this user; choose another path with --store)"
    )


def _from_sql(typ: str, value: Any) -> Any:
    if typ in ("true", "false"):
        return typ == "true"
    return value


class SqliteRecords:
    """Mutable records of one kind with optimistic versions (see RecordRepository)."""

    def __init__(self, store: SqliteStore, kind: str) -> None:
        self._store = store
        self._kind = kind

    def get(self, record_id: str) -> Record:
        rows = self._store._query(
            "SELECT version, doc FROM records WHERE kind = ? AND id = ?", [self._kind, record_id]
        )
        if not rows:
            raise NotFound(f"{self._kind} {record_id!r} not found")
        record: Record = loads(rows[0][1])
        record["version"] = rows[0][0]
        return record

    def put(self, record: Record, expected_version: int | None) -> Record:
        record_id = record.get("id")
        if not isinstance(record_id, str) or not record_id:
            raise StoreError("a record needs a string id")
        now = timestamp_micros(datetime.now(UTC))
        with self._store._tx() as db:
            row = db.execute(
                "SELECT version FROM records WHERE kind = ? AND id = ?", [self._kind, record_id]
            ).fetchone()
            actual = row[0] if row else 0
            if (expected_version or 0) != actual:
                if expected_version is not None and row is None:
                    raise NotFound(f"{self._kind} {record_id!r} not found")
                raise VersionConflict(record_id, expected_version or 0, actual)
            stored = {**record, "version": actual + 1}
            db.execute(
                "INSERT OR REPLACE INTO records (kind, id, version, updated, doc) VALUES (?, ?, ?, ?, ?)",
                [self._kind, record_id, actual + 1, now, dumps(stored).decode()],
            )
            db.execute("DELETE FROM record_terms WHERE kind = ? AND id = ?", [self._kind, record_id])
            db.executemany(
                "INSERT INTO record_terms (kind, id, term) VALUES (?, ?, ?)",
                [(self._kind, record_id, t) for t in record_terms(stored)],
            )
        return stored

    def list(self, limit: int = 100, offset: int = 0) -> list[Record]:
        rows = self._store._query(
            "SELECT doc FROM records WHERE kind = ? ORDER BY updated DESC, id LIMIT ? OFFSET ?",
            [self._kind, limit, offset],
        )
        return [loads(doc) for (doc,) in rows]

    def find(
        self, filters: Mapping[str, str], limit: int = 100, offset: int = 0
    ) -> builtins.list[Record]:
        wanted = filter_terms(filters)
        if not wanted:
            return self.list(limit, offset)
        marks = ", ".join("?" * len(wanted))
        rows = self._store._query(
            "SELECT r.doc FROM records r WHERE r.kind = ? AND r.id IN ("
            f" SELECT id FROM record_terms WHERE kind = ? AND term IN ({marks})"
            " GROUP BY id HAVING count(*) = ?) ORDER BY r.updated DESC, r.id LIMIT ? OFFSET ?",
            [self._kind, self._kind, *wanted, len(wanted), limit, offset],
        )
        return [loads(doc) for (doc,) in rows]
