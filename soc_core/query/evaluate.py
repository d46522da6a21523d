"""The reference evaluator: what a query means, over one in-memory event.

Stores compile the AST for speed; contract tests check them against this function.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from soc_core.event import get_field, parse_timestamp
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
from soc_core.query.text import searchable_text, words


def matches(node: Node, event: Mapping[str, Any]) -> bool:
    """True when the event satisfies the query."""
    match node:
        case MatchAll():
            return True
        case And(items):
            return all(matches(i, event) for i in items)
        case Or(items):
            return any(matches(i, event) for i in items)
        case Not(item):
            return not matches(item, event)
        case Text():
            text = searchable_text(event)
            return text is not None and text_matches(node, text)
        case Exists(field):
            return any(v is not None for v in _values(event, field))
        case _:
            return any(_leaf(node, v) for v in _values(event, node.field))


def _values(event: Mapping[str, Any], field: str) -> list[Any]:
    value = get_field(event, field)
    if value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    if isinstance(value, dict):
        return [value] if value else []
    return [value]


def _leaf(node: Node, value: Any) -> bool:
    if isinstance(value, (dict, list)):
        return False
    match node:
        case Term(field, literal):
            if field == TIMESTAMP_FIELD:
                return _instant(value) == _instant(literal) is not None
            return scalar_equals(value, literal)
        case Wildcard(_, pattern):
            return isinstance(value, str) and wildcard_regex(pattern).fullmatch(value) is not None
        case Range():
            return range_contains(node, value)
        case Cidr(_, network):
            return cidr_contains(network, value)
    return False


def scalar_equals(value: Any, literal: str) -> bool:
    """Equality of one stored scalar with a query literal (see the AST module)."""
    if isinstance(value, bool):
        return literal in ("true", "false") and (literal == "true") == value
    if isinstance(value, (int, float)):
        number = as_number(literal)
        return number is not None and float(value) == number
    return isinstance(value, str) and value == literal


def range_contains(node: Range, value: Any) -> bool:
    """Whether one stored scalar lies in the range."""
    if isinstance(value, bool):
        return False
    if node.field == TIMESTAMP_FIELD:
        v: Any = _instant(value)
        low: Any = _instant(node.low) if node.low is not None else None
        high: Any = _instant(node.high) if node.high is not None else None
        # An unreadable bound matches nothing rather than silently opening the range.
        if v is None or (node.low is not None and low is None) or (node.high is not None and high is None):
            return False
    else:
        numeric = all(b is None or as_number(b) is not None for b in (node.low, node.high))
        if numeric:
            if not isinstance(value, (int, float)):
                return False
            v, low, high = float(value), _num(node.low), _num(node.high)
        else:
            if not isinstance(value, str):
                return False
            v, low, high = value, node.low, node.high
    if low is not None and (v < low or (v == low and not node.include_low)):
        return False
    return not (high is not None and (v > high or (v == high and not node.include_high)))


def _num(bound: str | None) -> float | None:
    return None if bound is None else as_number(bound)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def cidr_contains(network: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return ipaddress.ip_address(value) in _network(network)
    except ValueError:
        return False


@lru_cache(maxsize=256)
def _network(network: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(network, strict=False)


@lru_cache(maxsize=1024)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """Compile a ``*``/``?`` pattern (``\\`` escapes) to an anchored regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def text_matches(node: Text, message: str) -> bool:
    """Full-text semantics on ``message`` (words folded; see :mod:`soc_core.query.text`)."""
    wanted = words(node.text)
    if not wanted:
        return False
    have = words(message)
    n = len(wanted)
    if node.prefix:
        # A phrase whose last word is a prefix (FTS5 ``"a b" *``).
        head, stem = wanted[:-1], wanted[-1]
        return any(
            have[i : i + n - 1] == head and have[i + n - 1].startswith(stem)
            for i in range(len(have) - n + 1)
        )
    return any(have[i : i + n] == wanted for i in range(len(have) - n + 1))
