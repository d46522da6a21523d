"""One query language for analysts: grammar, AST, and the reference evaluator."""

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

__all__ = [
    "And", "Cidr", "Exists", "MatchAll", "Node", "Not", "Or", "Range", "Term", "Text",
    "Wildcard", "matches", "parse_query",
]
