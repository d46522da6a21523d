"""Retro-hunt over the embedded store: pySigma's SQLite backend on flattened events.

Each rule is converted to SQL by ``pysigma-backend-sqlite``; the stored events of the time
range are read through the Store contract and flattened into in-memory tables of
Sigma-named columns, one table per logsource route, each column read exactly as the
streaming matcher reads it (``rules.sigma.compiler.field_access``: Windows columns with the
route's renames, ECS paths per family). Columns are ``NUMERIC COLLATE NOCASE`` so that
``=`` is case-insensitive and ``'4688'`` equals ``4688``, as in Sigma; a list value becomes
one row per item (any item may match); ``REGEXP`` is Python's ``re.search``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from sigma.backends.sqlite.sqlite import sqliteBackend
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from rules.hunt.common import (
    Hit,
    HuntResult,
    convertible_copy,
    detection_fields,
    make_hit,
    route_accepts,
    route_id,
    routes_or_error,
    source_of,
    stored_events,
)
from rules.sigma import RuleSet
from rules.sigma.compiler import Ctx, field_access
from rules.sigma.fieldmap import DATA_COLUMN
from rules.sigma.logsource import Route
from soc_core.contracts import Store, TimeRange
from soc_core.errors import RuleError
from soc_core.event import Event, dumps

MAX_ROWS_PER_EVENT = 64  # list values multiply rows; past this many, later combinations are dropped


def _sql_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return dumps(value).decode()


def _rows(values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """One row, or one per combination of list items (any item of a list may match)."""
    options = [[_sql_value(v) for v in value] or [None] if isinstance(value, list) else [_sql_value(value)]
               for value in values]
    rows = []
    for combination in product(*options):
        rows.append(combination)
        if len(rows) == MAX_ROWS_PER_EVENT:
            break
    return rows


def _cell(name: str, value: Any) -> Any:
    """``Data`` (the unnamed items of a classic event) is one text, its items one per line,
    as the SQLite oracle writes it: a row per item would let ``not`` filters on ``Data``
    pass on the items that do not hold the excluded text."""
    if isinstance(value, list) and name.lower() == DATA_COLUMN.lower():
        return "\n".join(str(v) for v in value if v is not None)
    return value


def _regexp() -> Callable[[str, Any], bool]:
    compiled: dict[str, re.Pattern[str]] = {}

    def regexp(pattern: str, value: Any) -> bool:
        if value is None:
            return False
        rx = compiled.get(pattern)
        if rx is None:
            rx = compiled[pattern] = re.compile(pattern)
        return rx.search(str(value)) is not None

    return regexp


@dataclass
class _Table:
    name: str
    route: Route
    columns: dict[str, str] = field(default_factory=dict)  # lower-cased -> as written in the rule
    plans: list[tuple[SigmaRule, str]] = field(default_factory=list)


class SqliteHunter:
    """Retro-hunt over the embedded store with pySigma's SQLite backend."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult:
        result = HuntResult(backend="sqlite", rules=len(ruleset.rules))
        backend = sqliteBackend()  # type: ignore[no-untyped-call]  # the plugin ships no annotations
        tables: dict[tuple[Any, ...], _Table] = {}
        for rule in ruleset.rules:
            path, line = source_of(ruleset, rule)
            try:
                queries = backend.convert_rule(convertible_copy(rule))  # type: ignore[no-untyped-call]
            except SigmaError as exc:
                result.fail(rule, RuleError(f"{rule.title}: no SQL conversion: {exc}", path, line))
                continue
            for route in routes_or_error(ruleset, rule, result):
                table = tables.setdefault(route_id(route), _Table(f"route_{len(tables)}", route))
                for name in detection_fields(rule):
                    if name is not None:
                        table.columns.setdefault(name.lower(), name)
                for query in queries:
                    table.plans.append((rule, str(query).replace(" FROM logs ", f" FROM {table.name} ", 1)))
        db = sqlite3.connect(":memory:")
        try:
            db.create_function("REGEXP", 2, _regexp(), deterministic=True)
            return self._evaluate(db, list(tables.values()), time_range, result)
        finally:
            db.close()

    def _evaluate(
        self, db: sqlite3.Connection, tables: list[_Table], time_range: TimeRange, result: HuntResult,
    ) -> HuntResult:
        for table in tables:
            columns = "".join(f', "{c}" NUMERIC COLLATE NOCASE' for c in table.columns.values())
            db.execute(f'CREATE TABLE {table.name} ("_rid" INTEGER{columns})')
        events: list[Event] = []
        for event in stored_events(self.store, time_range):
            rid = len(events)
            events.append(event)
            ctx = Ctx(event)
            for table in tables:
                if not table.columns or not route_accepts(table.route, event, ctx):
                    continue
                values = [_cell(name, field_access(table.route, name).get(ctx)) for name in table.columns.values()]
                marks = ", ".join("?" * (len(values) + 1))
                db.executemany(f"INSERT INTO {table.name} VALUES ({marks})",  # noqa: S608 - our own table names
                               [(rid, *row) for row in _rows(values)])
        result.events = len(events)
        hits: set[Hit] = set()
        for table in tables:
            for rule, query in table.plans:
                for (rid,) in db.execute(f"SELECT DISTINCT _rid FROM ({query})"):  # noqa: S608 - pySigma's SQL
                    hits.add(make_hit(rule, events[rid]))
        result.hits = sorted(hits)
        return result
