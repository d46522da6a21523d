"""The analyst query language: Lucene/KQL-style text parsed with pyparsing into the AST.

Supported: ``field:value``, ``field:"quoted phrase"``, ``*``/``?`` wildcards, ranges
``field:[a TO b]`` / ``{a TO b}`` (mixed brackets too, ``*`` for an open end),
``field >= v`` and ``field:>=v``, ``field:(a OR b)``, ``AND OR NOT`` (any case, also
``&& || ! -``), parentheses, ``_exists_:field`` and ``field:*``, CIDR such as
``source.ip:10.0.0.0/8``. Words without a field search ``message``. Juxtaposed terms are
joined with AND (as in KQL). A malformed query raises :class:`QuerySyntaxError` with the
1-based column of the problem.

Limits, each refused with a :class:`QuerySyntaxError` naming it (a query typed by an
analyst stays far below them; a hostile or generated one cannot exhaust the parser's
recursion, a store's expression depth or its clause count): at most
:data:`MAX_QUERY_CHARS` characters, :data:`MAX_NESTING` levels of parentheses and
``NOT`` operators, :data:`MAX_TERMS` terms, and no control characters (NUL...).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyparsing as pp

from soc_core.errors import QuerySyntaxError
from soc_core.query.ast import (
    TEXT_FIELD,
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

pp.ParserElement.enable_packrat()


@dataclass(frozen=True, slots=True)
class _Value:
    """A value not yet bound to a field (inside ``field:( ... )``)."""

    quoted: bool
    text: str
    loc: int


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _has_wildcard(text: str) -> bool:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in "*?":
            return True
        i += 1
    return False


def _bind(value: Any, field: str | None, source: str) -> Node:
    """Turn a value (or a boolean tree of values) into AST nodes for ``field``."""
    if isinstance(value, And):
        return And(tuple(_bind(v, field, source) for v in value.items))
    if isinstance(value, Or):
        return Or(tuple(_bind(v, field, source) for v in value.items))
    if isinstance(value, Not):
        return Not(_bind(value.item, field, source))
    assert isinstance(value, _Value)
    text = value.text
    if field is None or field == TEXT_FIELD:
        if value.quoted:
            return Text(text, phrase=True)
        if text == "*":
            return MatchAll() if field is None else Exists(TEXT_FIELD)
        if _has_wildcard(text):
            body = text[:-1]
            if not text.endswith("*") or _has_wildcard(body):
                raise pp.ParseFatalException(
                    source, value.loc, "free-text search allows only a trailing * (use field:value* for wildcards)"
                )
            return Text(_unescape(body), prefix=True)
        return Text(_unescape(text), phrase=True)
    if value.quoted:
        return Term(field, text)
    if text == "*":
        return Exists(field)
    if _has_wildcard(text):
        return Wildcard(field, text)
    plain = _unescape(text)
    if "/" in plain:
        try:
            ipaddress.ip_network(plain, strict=False)
            return Cidr(field, plain)
        except ValueError:
            address, _, prefix = plain.partition("/")
            if prefix.isdigit() and _is_address(address):
                # An address with a prefix the family cannot have (10.0.0.0/33) is a
                # mistake, not a literal to compare: matching nothing would hide it.
                longest = 128 if ":" in address else 32
                raise pp.ParseFatalException(
                    source, value.loc, f"invalid CIDR {plain!r}: the prefix length must be 0 to {longest}"
                ) from None
    return Term(field, plain)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _build_grammar() -> pp.ParserElement:
    and_kw = pp.CaselessKeyword("AND") | pp.Literal("&&")
    or_kw = pp.CaselessKeyword("OR") | pp.Literal("||")
    not_kw = pp.CaselessKeyword("NOT") | pp.Literal("!") | pp.Literal("-")
    lpar, rpar, colon = pp.Suppress("("), pp.Suppress(")"), pp.Suppress(":")

    field = pp.Regex(r"[A-Za-z_@][A-Za-z0-9_.@\-]*")
    bare = ~(and_kw | or_kw | pp.CaselessKeyword("NOT") | pp.CaselessKeyword("TO")) + pp.Regex(
        r'(?:\\.|[^\s()\[\]{}"\\<>=!])(?:\\.|[^\s()\[\]{}"\\])*'
    )
    quoted = pp.QuotedString('"', esc_char="\\")

    def value_action(s: str, loc: int, toks: pp.ParseResults) -> _Value:
        return _Value(False, toks[0], loc)

    def quoted_action(s: str, loc: int, toks: pp.ParseResults) -> _Value:
        return _Value(True, toks[0], loc)

    value = (quoted.copy().set_parse_action(quoted_action) | bare.copy().set_parse_action(value_action)).set_name(
        "a value"
    )
    # Free text may not contain a bare colon: "a:" is a field without a value, not a word.
    free_bare = ~(and_kw | or_kw | pp.CaselessKeyword("NOT")) + pp.Regex(
        r'(?:\\.|[^\s()\[\]{}"\\<>=!:])(?:\\.|[^\s()\[\]{}"\\:])*'
    )
    free_value = quoted.copy().set_parse_action(quoted_action) | free_bare.set_parse_action(value_action)

    def combine(cls: type[And] | type[Or]) -> Any:
        def action(toks: pp.ParseResults) -> Any:
            items = [t for t in toks if not isinstance(t, str)]
            return items[0] if len(items) == 1 else cls(tuple(items))

        return action

    def negate(toks: pp.ParseResults) -> Any:
        return Not(toks[-1])

    # Values inside field:( ... ): the same boolean structure, over unbound values.
    vexpr = pp.Forward()
    vatom = (lpar - vexpr - rpar) | value
    vnot = pp.Forward()
    vnot <<= (not_kw - vnot).set_parse_action(negate) | vatom
    vand = (vnot + pp.ZeroOrMore((and_kw - vnot) | (~or_kw + vnot))).set_parse_action(combine(And))
    vexpr <<= (vand + pp.ZeroOrMore(or_kw - vand)).set_parse_action(combine(Or))
    vnot.set_name("a value")
    vexpr.set_name("a value")

    bound = (
        pp.QuotedString('"', esc_char="\\") | pp.Regex(r'(?:\\.|[^\s\[\]{}"\\])+?(?=\s|\]|\})')
    ).set_name("a range bound")
    rpar.set_name("')'")
    range_ = (
        pp.one_of("[ {")
        - bound
        - pp.Suppress(pp.CaselessKeyword("TO"))
        - bound
        - pp.one_of("] }").set_name("']' or '}'")
    )
    cmp_op = pp.one_of(">= <= > <")
    cmp_value = (quoted | pp.Regex(r'(?:\\.|[^\s()\[\]{}"\\])+')).set_name("a value")

    expr = pp.Forward()

    def field_action(s: str, loc: int, toks: pp.ParseResults) -> Node:
        name = toks[0]
        rest = toks[1:]
        if name == "_exists_":
            target = rest[0]
            if not isinstance(target, _Value) or target.quoted:
                raise pp.ParseFatalException(s, loc, "_exists_ takes a field name")
            return Exists(target.text)
        if len(rest) == 4 and rest[0] in ("[", "{"):
            low, high = (None if b == "*" else _unescape(b) for b in (rest[1], rest[2]))
            return Range(name, low, high, rest[0] == "[", rest[3] == "]")
        if len(rest) == 2 and rest[0] in (">=", "<=", ">", "<"):
            op, literal = rest[0], _unescape(rest[1])
            if op in (">", ">="):
                return Range(name, literal, None, include_low=op == ">=")
            return Range(name, None, literal, include_high=op == "<=")
        return _bind(rest[0], name, s)

    field_expr = (
        (field + colon - (range_ | (cmp_op - cmp_value) | (lpar - vexpr - rpar) | value))
        | (field + cmp_op - cmp_value)
    ).set_parse_action(field_action)

    def free_action(s: str, loc: int, toks: pp.ParseResults) -> Node:
        return _bind(toks[0], None, s)

    free = free_value.add_parse_action(free_action)
    atom = (lpar - expr - rpar) | field_expr | free
    not_expr = pp.Forward()
    not_expr <<= (not_kw - not_expr).set_parse_action(negate) | atom
    and_expr = (not_expr + pp.ZeroOrMore((and_kw - not_expr) | (~or_kw + not_expr))).set_parse_action(
        combine(And)
    )
    expr <<= (and_expr + pp.ZeroOrMore(or_kw - and_expr)).set_parse_action(combine(Or))
    not_expr.set_name("a search term")
    expr.set_name("a search term")
    return expr


_GRAMMAR = _build_grammar()

MAX_QUERY_CHARS = 20_000
# pyparsing spends 10 to 35 Python frames per level: 16 levels stay well inside the
# interpreter's recursion limit wherever the query is parsed (an API worker thread too).
MAX_NESTING = 16
# Elasticsearch refuses a query of more than 1,024 clauses by default (max_clause_count
# before 8.0), SQLite an expression deeper than 1,000: one bound for every store.
MAX_TERMS = 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEST_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"?|[()]|(?:\\.|[^\s()"\\])+')
_NOT_WORDS = frozenset({"NOT", "!", "-"})


def _check_limits(text: str) -> None:
    """Refuse what the parser or a store cannot take, before parsing (see the module doc)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"query longer than {MAX_QUERY_CHARS} characters ({len(text)})",
                               text[:60] + "...", min(len(text), 61))
    bad = _CONTROL.search(text)
    if bad:
        raise QuerySyntaxError(f"control character U+{ord(bad.group()):04X} in the query", text, bad.start() + 1)
    # Nesting = open parentheses plus the NOTs applying at this point (each one level).
    base, negations, stack = 0, 0, []
    for token in _NEST_TOKEN.finditer(text):
        word = token.group()
        if word == "(":
            stack.append((base, negations))
            base, negations = base + negations + 1, 0
        elif word == ")":
            base, negations = stack.pop() if stack else (0, 0)
            negations = 0
        elif word.upper() in _NOT_WORDS:
            negations += 1
        else:
            negations += len(word) - len(word.lstrip("!-")) if not word.startswith('"') else 0
            if base + negations > MAX_NESTING:
                break
            negations = 0
            continue
        if base + negations > MAX_NESTING:
            break
    else:
        return
    raise QuerySyntaxError(f"query nested deeper than {MAX_NESTING} levels (parentheses and NOTs)",
                           text, token.start() + 1)


def _count_terms(node: Node) -> int:
    count, pending = 0, [node]
    while pending:
        current = pending.pop()
        if isinstance(current, (And, Or)):
            pending.extend(current.items)
        elif isinstance(current, Not):
            pending.append(current.item)
        else:
            count += 1
    return count


@lru_cache(maxsize=512)
def parse_query(text: str) -> Node:
    """Parse an analyst query; an empty query or ``*`` matches everything."""
    if not text.strip() or text.strip() == "*":
        return MatchAll()
    _check_limits(text)
    try:
        result = _GRAMMAR.parse_string(text, parse_all=True)
    except RecursionError:  # the limits above should make this unreachable; never a crash
        raise QuerySyntaxError("query nested too deeply", text, 1) from None
    except (pp.ParseException, pp.ParseFatalException) as exc:
        msg = str(exc.msg)
        if msg.startswith("Expected {"):  # pyparsing spells out whole alternatives; say what is missing
            msg = "Expected a search term"
        if exc.loc >= len(text):
            msg = "query ends too early" + (f" ({msg.lower()})" if msg.startswith("Expected") else "")
        elif msg.startswith("Expected end of text") or not msg.startswith("Expected"):
            msg = f"unexpected {text[exc.loc:exc.loc + 12]!r}" if msg.startswith("Expected") else msg
        else:
            msg = f"{msg.lower()}, found {text[exc.loc:exc.loc + 12]!r}"
        raise QuerySyntaxError(msg, text, exc.loc + 1) from None
    node: Node = result[0]
    if isinstance(node, _Value):  # pragma: no cover - free values are always bound
        raise QuerySyntaxError("value without a field", text, node.loc + 1)
    terms = _count_terms(node)
    if terms > MAX_TERMS:
        raise QuerySyntaxError(f"query has {terms} terms, more than {MAX_TERMS}", text[:60], 1)
    return node
