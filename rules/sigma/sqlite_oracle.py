"""The SQLite approach, as an oracle: Sigma rules converted by pysigma-backend-sqlite.

This is the Zircolite way of running Sigma: rules converted with pySigma's Sysmon and
Windows-logsource pipelines to SQL, events flattened into one table of Sigma-named
columns (:func:`rules.sigma.fieldmap.sigma_columns`, declared ``TEXT COLLATE NOCASE``),
every query executed over the table. The differential test compares our engine's hits
with these, and the benchmark times both on the same events. It is not used to detect.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from sigma.backends.sqlite.sqlite import sqliteBackend
from sigma.exceptions import SigmaError
from sigma.pipelines.sysmon.sysmon import sysmon_pipeline
from sigma.pipelines.windows.windows import windows_logsource_pipeline
from sigma.rule import SigmaRule

from rules.sigma.fieldmap import sigma_columns
from soc_core.event import Event

_MISSING_COLUMN = re.compile(r"no such column: (.+)$")


@dataclass
class Converted:
    """Each rule's SQL queries, or why pySigma could not convert it."""

    queries: list[tuple[SigmaRule, list[str]]] = field(default_factory=list)
    failures: list[tuple[SigmaRule, str]] = field(default_factory=list)


def convert(rules: Iterable[SigmaRule]) -> Converted:
    """Convert rules one by one (the pipelines modify a rule: pass copies you own)."""
    # The backend package is untyped: call it through Any.
    backend: Any = cast(Any, sqliteBackend)(processing_pipeline=sysmon_pipeline() + windows_logsource_pipeline())
    out = Converted()
    for rule in rules:
        try:
            queries = [str(q) for q in backend.convert_rule(rule)]
        except SigmaError as exc:
            out.failures.append((rule, f"{type(exc).__name__}: {exc}"))
            continue
        out.queries.append((rule, queries))
    return out


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str, value: Any) -> int:
    """SQLite REGEXP: Python ``re.search`` semantics, NULL never matches."""
    if value is None:
        return 0
    return 1 if _regex(pattern).search(str(value)) else 0


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        # A list column (unnamed ``Data`` items, ``Keywords``): its items one per line, the
        # text a SQL backend sees of an element's content, not Python's repr (whose
        # doubled backslashes and quotes would match needles no item holds).
        return "\n".join(str(_text(v)) for v in value if v is not None)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class EventTable:
    """An in-memory SQLite table ``logs`` of flattened events; rowid = position + 1."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.connection = sqlite3.connect(":memory:")
        self.connection.create_function("REGEXP", 2, _regexp, deterministic=True)
        rows = [sigma_columns(e) for e in events]
        columns: dict[str, str] = {}
        for row in rows:
            for name in row:
                columns.setdefault(name.lower(), name)
        self.columns = columns
        # Every column TEXT COLLATE NOCASE, as Zircolite builds its table: equality is
        # case-insensitive like Sigma's default, LIKE is too.
        decl = ", ".join(f'"{name}" TEXT COLLATE NOCASE' for name in columns.values())
        self.connection.execute(f"CREATE TABLE logs ({decl})")
        names = list(columns.values())
        placeholders = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{n}"' for n in names)
        lowered = [{k.lower(): v for k, v in row.items()} for row in rows]
        self.connection.executemany(
            f"INSERT INTO logs (rowid, {quoted}) VALUES (?, {placeholders})",  # noqa: S608 - names are ours
            ([i + 1, *(_text(row.get(n)) for n in columns)] for i, row in enumerate(lowered)),
        )

    def run(self, query: str) -> list[int]:
        """Row positions (0-based) a converted query selects; absent columns read NULL."""
        sql = query.replace("SELECT * FROM", "SELECT rowid FROM", 1)
        for _ in range(64):
            try:
                return [r[0] - 1 for r in self.connection.execute(sql)]
            except sqlite3.OperationalError as exc:
                m = _MISSING_COLUMN.search(str(exc))
                if not m:
                    raise
                name = m.group(1).strip('`"')
                self.connection.execute(f'ALTER TABLE logs ADD COLUMN "{name}" TEXT COLLATE NOCASE')
                self.columns[name.lower()] = name
        raise sqlite3.OperationalError(f"too many missing columns in {query[:200]}")

    def close(self) -> None:
        self.connection.close()
