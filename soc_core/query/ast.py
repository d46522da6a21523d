"""The analyst query AST: a small closed set of frozen nodes.

Semantics (the reference evaluator in :mod:`soc_core.query.evaluate` is the definition
every store must reproduce):

* A field that holds a list matches when any element matches.
* ``Term``: a text value matches by exact, case-sensitive equality (as Elasticsearch
  ``keyword`` fields do); a number matches when the literal is a number equal to it; a
  boolean when the literal is ``true``/``false``. ``@timestamp`` compares as instants.
* ``Wildcard``: ``*`` any run, ``?`` one character, on text values; ``\\`` escapes.
* ``Range``: a numeric literal compares with numeric values, any other literal with text
  values (lexicographically); ``@timestamp`` compares as instants. ``None`` = open end.
* ``Cidr``: text values that are IP addresses inside the network.
* ``Exists``: the field is present with a non-null, non-empty value.
* ``Text``: full-text search on ``message``: case- and accent-insensitive words;
  ``phrase`` = consecutive words; ``prefix``: the last word only has to start a word.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatchAll:
    pass


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Wildcard:
    field: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Range:
    field: str
    low: str | None
    high: str | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True, slots=True)
class Cidr:
    field: str
    network: str


@dataclass(frozen=True, slots=True)
class Exists:
    field: str


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = MatchAll | Term | Wildcard | Range | Cidr | Exists | Text | And | Or | Not

TIMESTAMP_FIELD = "@timestamp"
TEXT_FIELD = "message"


def as_number(literal: str) -> float | None:
    """The literal as a number, or None (``nan``/``inf`` are not numbers here)."""
    try:
        value = float(literal)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value
