"""One query language for analysts: grammar, AST, and the reference evaluator.

The names are loaded on first use (PEP 562): ``soc_core.contracts`` imports the AST,
and every command would otherwise pay for building the pyparsing grammar at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from soc_core.query.ast import (
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
    )
    from soc_core.query.evaluate import matches
    from soc_core.query.grammar import parse_query

_HOMES = {
    **dict.fromkeys(("And", "Cidr", "Exists", "MatchAll", "Node", "Not", "Or", "Range", "Term", "Text",
                     "Wildcard"), "soc_core.query.ast"),
    "matches": "soc_core.query.evaluate",
    "parse_query": "soc_core.query.grammar",
}

__all__ = [
    "And", "Cidr", "Exists", "MatchAll", "Node", "Not", "Or", "Range", "Term", "Text",
    "Wildcard", "matches", "parse_query",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'soc_core.query' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
