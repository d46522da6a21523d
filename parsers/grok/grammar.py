"""The pyparsing grammar of grok pattern definitions (Logstash syntax), used at load time only.

A pattern file holds ``NAME regex`` lines and ``#`` comments. A regex body may refer to
other patterns as ``%{NAME}``, ``%{NAME:ecs.path}`` or ``%{NAME:ecs.path:type}`` and may
hold Oniguruma named groups ``(?<ecs.path>...)``. This module turns a body into a list
of tokens (literal regex text and references); :mod:`parsers.grok.library` expands the
tokens into one Python regular expression. No parser combinator ever runs per log line.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyparsing as pp

# A field may be written as a dotted ECS path or in Logstash's bracket form.
_FIELD_CHARS = pp.alphanums + "_.@[]-"

_IDENT = pp.Word(pp.alphas + "_", pp.alphanums + "_")
_FIELD = pp.Word(_FIELD_CHARS)
_TYPE = pp.Word(pp.alphas)

_REFERENCE = (
    pp.Suppress("%{")
    + _IDENT("name")
    + pp.Optional(pp.Suppress(":") + pp.Optional(_FIELD("field")) + pp.Optional(pp.Suppress(":") + _TYPE("type")))
    + pp.Suppress("}")
)("reference")
# ``(?<=`` and ``(?<!`` are look-behinds: the field word cannot start with ``=`` or ``!``.
_NAMED_GROUP = (pp.Suppress("(?<") + _FIELD("group") + pp.Suppress(">"))("named_group")
_BODY_TOKEN = (_REFERENCE | _NAMED_GROUP).leave_whitespace()  # "%{ X}" is not a reference

_DEFINITION = _IDENT("name") + pp.Regex(r"\S.*")("body") + pp.StringEnd()


@dataclass(frozen=True, slots=True)
class Reference:
    """``%{name:field:type}``; ``field`` and ``type`` are ``None`` when absent."""

    name: str
    field: str | None
    type: str | None


@dataclass(frozen=True, slots=True)
class NamedGroup:
    """The opening ``(?<field>`` of an Oniguruma named capture."""

    field: str


Token = str | Reference | NamedGroup


class GrammarError(ValueError):
    """A definition line or body does not follow the grammar (position in ``column``)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


def normalise_field(field: str) -> str:
    """``[source][ip]`` becomes ``source.ip``; a dotted path is kept."""
    if field.startswith("["):
        return ".".join(part for part in field.replace("]", "[").split("[") if part)
    return field


def tokenize_body(body: str) -> list[Token]:
    """Split a regex body into literal regex text, references and named-group openings."""
    tokens: list[Token] = []
    last = 0
    for result, start, end in _BODY_TOKEN.scan_string(body):
        if start > last:
            tokens.append(body[last:start])
        if "group" in result:
            tokens.append(NamedGroup(normalise_field(result["group"])))
        else:
            # ParseResults.get is untyped, which mypy --strict refuses: index instead.
            field: str | None = result["field"] if "field" in result else None  # noqa: SIM401
            kind: str | None = result["type"] if "type" in result else None  # noqa: SIM401
            tokens.append(Reference(result["name"], normalise_field(field) if field else None, kind))
        last = end
    if last < len(body):
        tail = body[last:]
        if "%{" in tail:
            raise GrammarError("malformed %{...} reference", last + tail.index("%{") + 1)
        tokens.append(tail)
    return tokens


def parse_definition(line: str) -> tuple[str, str]:
    """``NAME body`` into its two parts; raises :class:`GrammarError`."""
    try:
        result = _DEFINITION.parse_string(line, parse_all=True)
    except pp.ParseException as exc:
        if not line[:1].isalpha() and line[:1] != "_":
            raise GrammarError("a definition starts with a pattern NAME", 1) from None
        raise GrammarError(f"expected 'NAME regex': {exc.msg}", exc.column) from None
    name: str = result["name"]
    body: str = result["body"]
    return name, body.rstrip()
