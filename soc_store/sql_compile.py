"""Compiles the analyst query AST to an SQLite ``WHERE`` clause for the embedded store.

The semantics are those of :mod:`soc_core.query.evaluate` (checked by a property test).
Any field is reachable through ``json_each`` over the stored JSON document, which treats
a scalar and a list alike ("any element matches"); the hot fields use indexed columns,
with list-valued occurrences kept in a side table ``<collection>_multi``. Every predicate
is NULL-free, so ``NOT`` means exactly "not".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soc_core.event import timestamp_micros
from soc_core.query.ast import (
    TIMESTAMP_FIELD,
    And,
    Cidr,
    Exists,
    MatchAll,
    Node,
    Not,
    Or,
    Range,
    Term,
    Text,
    Wildcard,
    as_number,
)
from soc_core.query.text import words

# Hot ECS fields get their own indexed column (name in SQL).
HOT_COLUMNS: dict[str, str] = {
    "event.kind": "kind",
    "event.dataset": "dataset",
    "source.ip": "source_ip",
    "destination.ip": "destination_ip",
    "host.name": "host_name",
    "user.name": "user_name",
    "rule.id": "rule_id",
}


def json_path(field_name: str) -> str:
    """``a.b`` -> ``$."a"."b"`` (quoted, so ``@timestamp`` and dashes are safe)."""
    return "$" + "".join('."' + part.replace('"', '\\"') + '"' for part in field_name.split("."))


def glob_pattern(pattern: str) -> str:
    """Our ``*``/``?`` pattern (``\\`` escapes) as an SQLite GLOB pattern."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            lit = pattern[i + 1]
            out.append(f"[{lit}]" if lit in "*?[" else lit)
            i += 2
            continue
        out.append("[[]" if ch == "[" else ch)
        i += 1
    return "".join(out)


def fts_query(node: Text) -> str | None:
    """The FTS5 MATCH expression for a free-text node, or None when it has no words."""
    found = words(node.text)
    if not found:
        return None
    phrase = '"' + " ".join(found) + '"'
    return phrase + " *" if node.prefix else phrase


@dataclass
class SqlQuery:
    """A compiled WHERE clause and its parameters."""

    where: str
    params: list[Any] = field(default_factory=list)


class Compiler:
    """Compile one AST for one collection table (``table``)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.params: list[Any] = []

    def compile(self, node: Node) -> SqlQuery:
        where = self._node(node)
        return SqlQuery(where, self.params)

    def _p(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def _node(self, node: Node) -> str:
        match node:
            case MatchAll():
                return "1"
            case And(items):
                return "(" + " AND ".join(self._node(i) for i in items) + ")" if items else "1"
            case Or(items):
                return "(" + " OR ".join(self._node(i) for i in items) + ")" if items else "0"
            case Not(item):
                return f"(NOT {self._node(item)})"
            case Text():
                query = fts_query(node)
                if query is None:
                    return "0"
                t = self.table
                return f"({t}.rid IN (SELECT rowid FROM {t}_fts WHERE {t}_fts MATCH {self._p(query)}))"
            case Exists(name):
                return self._exists(name)
            case _:
                return self._leaf(node)

    # -- leaves ------------------------------------------------------------------------

    def _value_condition(self, node: Node, typ: str, val: str) -> str:
        """A condition on one scalar given SQL expressions of its JSON type and value."""
        match node:
            case Term(_, literal):
                parts = [f"({typ} = 'text' AND {val} = {self._p(literal)})"]
                number = as_number(literal)
                if number is not None:
                    parts.append(f"({typ} IN ('integer', 'real') AND {val} = {self._p(number)})")
                if literal in ("true", "false"):
                    parts.append(f"({typ} = {self._p(literal)})")
                return "(" + " OR ".join(parts) + ")"
            case Wildcard(_, pattern):
                return f"({typ} = 'text' AND {val} GLOB {self._p(glob_pattern(pattern))})"
            case Cidr(_, network):
                return f"({typ} = 'text' AND cidr_match({val}, {self._p(network)}))"
            case Range():
                numeric = all(b is None or as_number(b) is not None for b in (node.low, node.high))
                cond = ["({typ} IN ('integer', 'real'))" if numeric else "({typ} = 'text')"]
                cond[0] = cond[0].format(typ=typ)
                for bound, inclusive, op_in, op_ex in (
                    (node.low, node.include_low, ">=", ">"),
                    (node.high, node.include_high, "<=", "<"),
                ):
                    if bound is not None:
                        value: Any = as_number(bound) if numeric else bound
                        cond.append(f"{val} {op_in if inclusive else op_ex} {self._p(value)}")
                return "(" + " AND ".join(cond) + ")"
        raise TypeError(f"not a leaf: {node!r}")  # pragma: no cover - exhaustive above

    def _leaf(self, node: Term | Wildcard | Range | Cidr) -> str:
        name = node.field
        if name == TIMESTAMP_FIELD and isinstance(node, (Term, Range)):
            return self._timestamp(node)
        t = self.table
        hot = HOT_COLUMNS.get(name)
        # Parameters are appended in the order their placeholders appear in the text.
        if hot is not None:
            direct = self._value_condition(node, f"typeof({t}.{hot})", f"{t}.{hot}")
            field_param = self._p(name)
            multi = self._value_condition(node, "m.type", "m.value")
            return (
                f"({direct} OR {t}.rid IN (SELECT m.rid FROM {t}_multi m "
                f"WHERE m.field = {field_param} AND {multi}))"
            )
        path = json_path(name)
        type_param, each_param = self._p(path), self._p(path)
        cond = self._value_condition(node, "je.type", "je.value")
        return (
            f"(json_type({t}.doc, {type_param}) IN ('array', 'text', 'integer', 'real', 'true', 'false') "
            f"AND EXISTS (SELECT 1 FROM json_each({t}.doc, {each_param}) je WHERE {cond}))"
        )

    def _timestamp(self, node: Term | Range) -> str:
        t = self.table
        try:
            if isinstance(node, Term):
                return f"({t}.ts = {self._p(timestamp_micros(node.value))})"
            cond = ["1"]
            if node.low is not None:
                cond.append(f"{t}.ts {'>=' if node.include_low else '>'} {self._p(timestamp_micros(node.low))}")
            if node.high is not None:
                cond.append(f"{t}.ts {'<=' if node.include_high else '<'} {self._p(timestamp_micros(node.high))}")
            return "(" + " AND ".join(cond) + ")"
        except ValueError:
            return "0"  # an unreadable instant matches nothing (as the reference does)

    def _exists(self, name: str) -> str:
        t = self.table
        hot = HOT_COLUMNS.get(name)
        if hot is not None:
            return (
                f"({t}.{hot} IS NOT NULL OR {t}.rid IN (SELECT m.rid FROM {t}_multi m "
                f"WHERE m.field = {self._p(name)} AND m.type != 'null'))"
            )
        path = json_path(name)
        return (
            f"(CASE COALESCE(json_type({t}.doc, {self._p(path)}), 'missing') "
            f"WHEN 'object' THEN json_extract({t}.doc, {self._p(path)}) != '{{}}' "
            f"WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each({t}.doc, {self._p(path)}) je "
            f"WHERE je.type != 'null') "
            f"WHEN 'null' THEN 0 WHEN 'missing' THEN 0 ELSE 1 END)"
        )


def compile_query(node: Node, table: str) -> SqlQuery:
    """Compile ``node`` to a WHERE clause over ``table`` (a collection)."""
    return Compiler(table).compile(node)
