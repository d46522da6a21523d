"""Sigma conditions as Elasticsearch query DSL: pySigma's Lucene backend, with DSL leaves.

The hunter used to send pySigma's Lucene ``query_string`` with every string value rewritten
as a whole-term regexp with both cases of each letter (``/.*\\[wW][uU][sS][aA].*/``):
keyword fields compare case-sensitively and ``query_string`` has no case-insensitive
wildcard. Such regexps scan the whole term dictionary through a regexp automaton; on
osmem-server over the EVTX corpus a ten-value ``contains`` list cost 1.4 s as regexps and
0.09 s as ``wildcard`` queries with ``case_insensitive`` (Elasticsearch 7.10+, OpenSearch
2.0+), and large rules (hash lists) ran out of time.

:class:`QueryDslBackend` keeps pySigma for everything that makes a rule a query (parsing,
modifiers, the processing pipeline with the field mapping, expansions such as
``windash``, error reporting) and only changes the output: AND/OR/NOT become ``bool``
queries and each leaf becomes the DSL query of the same meaning:

* string: ``term`` (no wildcard) or ``wildcard``, ``case_insensitive`` unless ``|cased``;
* ``re``: ``regexp`` translated from Sigma's PCRE-like syntax (:func:`lucene_regexp`;
  ``case_insensitive`` for ``i``; flags ``NONE`` so that ``&``, ``~``, ``<``, ``>``, ``#``,
  ``@`` are literals as in PCRE);
* number and boolean: ``term``; ``null``: no such field; ``exists``: ``exists``;
* CIDR: ``wildcard`` on the address prefixes pySigma derives from the network;
* anything else (comparisons, keyword searches): pySigma's own Lucene text for that
  leaf alone, wrapped in a ``query_string``.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

Query = dict[str, Any]


def wildcard_pattern(value: SigmaString) -> str | None:
    """``value`` in the syntax of a ``wildcard`` query (``*``, ``?``, ``\\`` escapes), or
    None when it holds a placeholder pySigma left unexpanded."""
    parts: list[str] = []
    for piece in value.s:
        if piece == SpecialChars.WILDCARD_MULTI:
            parts.append("*")
        elif piece == SpecialChars.WILDCARD_SINGLE:
            parts.append("?")
        elif isinstance(piece, str):
            parts.append("".join("\\" + ch if ch in "*?\\" else ch for ch in piece))
        else:
            return None
    return "".join(parts)


def string_query(field: str, value: SigmaString, case_insensitive: bool) -> Query | None:
    """The DSL query matching ``field`` against a Sigma string (None for a placeholder)."""
    if any(isinstance(piece, Placeholder) for piece in value.s):
        return None
    options: dict[str, Any] = {"case_insensitive": True} if case_insensitive else {}
    if not value.contains_special():
        return {"term": {field: {"value": "".join(str(p) for p in value.s), **options}}}
    pattern = wildcard_pattern(value)
    return None if pattern is None else {"wildcard": {field: {"value": pattern, **options}}}


_INLINE_FLAGS = re.compile(r"^\(\?([a-zA-Z]+)\)")
_NO_LUCENE_ESCAPES = frozenset("bBAZzG123456789")  # boundaries, anchors, back-references


def split_inline_flags(regex: str) -> tuple[str, str]:
    """``("(?i)", "rest")`` for a regex opening with global inline flags, else ``("", regex)``."""
    found = _INLINE_FLAGS.match(regex)
    return (found.group(0), regex[found.end():]) if found else ("", regex)


def lucene_regexp(regex: str) -> tuple[str, bool]:
    """A Sigma (PCRE-like) regex in Lucene's regexp syntax, and whether it ignores case.

    Lucene has no inline flags (a leading ``(?i)`` becomes ``case_insensitive``), no
    non-capturing or named groups (they become plain groups), no empty alternatives
    (``(x|)`` becomes ``(x)?``), no lazy quantifiers (``+?``
    would read as "optional one-or-more": the ``?`` is dropped, which keeps match/no-match)
    and reads ``"`` as a quote (escaped). Look-arounds, word boundaries and
    back-references have no Lucene form: the rule is reported as not convertible."""
    flags, body = split_inline_flags(regex)
    out: list[str] = []
    optional: list[bool] = []  # per open group: it has an empty alternative
    i, in_class = 0, False
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            if not in_class and body[i + 1] in _NO_LUCENE_ESCAPES:
                raise SigmaFeatureNotSupportedByBackendError(f"regular expression {regex!r} has no Lucene form")
            out.append(body[i : i + 2])  # one element: the tests below never see an escaped char
            i += 2
            continue
        if in_class:
            in_class = ch != "]" or body[i - 1] == "["
            out.append('\\"' if ch == '"' else ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
        elif ch == "(":
            if body.startswith("(?", i):
                group = re.match(r"\(\?(?::|P?<[A-Za-z_]\w*>)", body[i:])
                if group is None:
                    raise SigmaFeatureNotSupportedByBackendError(f"regular expression {regex!r} has no Lucene form")
                i += group.end() - 1
            out.append("(")
            optional.append(False)
        elif ch == "|" and optional and out[-1] in ("(", "|"):
            optional[-1] = True  # ``(|x)``: Lucene has no empty alternative, ``(x)?`` says the same
        elif ch == ")" and optional:
            if out[-1] == "|":
                out.pop()
                optional[-1] = True  # ``(x|)``
            out.append(")?" if optional.pop() else ")")
        elif ch == "?" and out and out[-1][-1:] in ("*", "+", "?", "}") and len(out[-1]) <= 2 and out[-1][0] != "\\":
            pass  # lazy quantifier: same match/no-match as the greedy one
        else:
            out.append('\\"' if ch == '"' else ch)
        i += 1
    return "".join(out), "i" in flags.lower()


class QueryDslBackend(LuceneBackend):
    """pySigma's Lucene backend producing query DSL (see the module docstring).

    ``text_fields`` are the fields a leaf left to Lucene text searches when it names none
    (a keyword search). The conversion methods return ``Any`` because the text backend
    they override declares text; here they return :data:`Query` dicts."""

    name = "Elasticsearch query DSL (soc retro-hunt)"

    def __init__(self, processing_pipeline: ProcessingPipeline, text_fields: list[str]) -> None:
        super().__init__(processing_pipeline)
        self.text_fields = text_fields

    # -- structure ----------------------------------------------------------------------

    def _children(self, cond: ConditionItem, state: ConversionState) -> list[Any]:
        return [q for q in (self.convert_condition(arg, state) for arg in cond.args) if q is not None]

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        return {"bool": {"filter": self._children(cond, state)}}

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        return {"bool": {"should": self._children(cond, state), "minimum_should_match": 1}}

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        return {"bool": {"must_not": self._children(cond, state)}}

    def decide_convert_condition_as_in_expression(self, cond: ConditionOR | ConditionAND,
                                                  state: ConversionState) -> bool:
        return False  # a bool of leaves already is the DSL's "in"

    def convert_condition_field_eq_expansion(self, cond: ConditionFieldEqualsValueExpression,
                                             state: ConversionState) -> Any:
        # pySigma's base behaviour: OR of the expanded values. (LuceneBackend 2.1.1 passes
        # the unexpanded condition to its OR conversion instead.)
        return Backend.convert_condition_field_eq_expansion(self, cond, state)

    # -- leaves -------------------------------------------------------------------------

    def _text(self, text: Any) -> Query:
        """One leaf as pySigma's Lucene text, for the leaves the DSL path does not model."""
        # lenient: a text value against a numeric field is "no match", not a failed query.
        return {"query_string": {"query": str(text), "fields": self.text_fields, "lenient": True,
                                 "analyze_wildcard": False, "allow_leading_wildcard": True}}

    def convert_condition_field_eq_val_str(self, cond: ConditionFieldEqualsValueExpression,
                                           state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaString)  # pySigma dispatches on the value type
        query = string_query(cond.field, cond.value, case_insensitive=True)
        return query if query is not None else self._text(super().convert_condition_field_eq_val_str(cond, state))

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: ConditionFieldEqualsValueExpression,
                                                          state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaString)  # pySigma dispatches on the value type
        query = string_query(cond.field, cond.value, case_insensitive=False)
        if query is not None:
            return query
        return self._text(super().convert_condition_field_eq_val_str_case_sensitive(cond, state))

    def convert_condition_field_eq_val_num(self, cond: ConditionFieldEqualsValueExpression,
                                           state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaNumber)  # pySigma dispatches on the value type
        # As text: an event field holding "4688" in a keyword field is the number 4688.
        return {"term": {cond.field: str(cond.value.number)}}

    def convert_condition_field_eq_val_bool(self, cond: ConditionFieldEqualsValueExpression,
                                            state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaBool)  # pySigma dispatches on the value type
        return {"term": {cond.field: cond.value.boolean}}

    def convert_condition_field_eq_val_re(self, cond: ConditionFieldEqualsValueExpression,
                                          state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaRegularExpression)  # pySigma dispatches on the value type
        regex, ignore_case = lucene_regexp(str(cond.value.regexp))
        options: dict[str, Any] = {"value": regex, "flags": "NONE"}
        if ignore_case or SigmaRegularExpressionFlag.IGNORECASE in cond.value.flags:
            options["case_insensitive"] = True
        return {"regexp": {cond.field: options}}

    def convert_condition_field_eq_val_null(self, cond: ConditionFieldEqualsValueExpression,
                                            state: ConversionState) -> Any:
        return {"bool": {"must_not": [{"exists": {"field": cond.field}}]}}

    def convert_condition_field_exists(self, cond: ConditionFieldEqualsValueExpression,
                                       state: ConversionState) -> Any:
        return {"exists": {"field": cond.field}}

    def convert_condition_field_not_exists(self, cond: ConditionFieldEqualsValueExpression,
                                           state: ConversionState) -> Any:
        return {"bool": {"must_not": [{"exists": {"field": cond.field}}]}}

    def convert_condition_field_eq_val_cidr(self, cond: ConditionFieldEqualsValueExpression,
                                            state: ConversionState) -> Any:
        # The address prefixes pySigma derives from the network, as wildcards on the text
        # (IPv6 hex digits in any case); Lucene text of the same would need escaping of
        # every ``:`` and ``/`` and missed on osmem.
        assert isinstance(cond.value, SigmaCIDRExpression)  # pySigma dispatches on the value type
        prefixes = [{"wildcard": {cond.field: {"value": prefix, "case_insensitive": True}}}
                    for prefix in cond.value.expand("*")]
        return {"bool": {"should": prefixes, "minimum_should_match": 1}}

    def convert_condition_field_compare_op_val(self, cond: ConditionFieldEqualsValueExpression,
                                               state: ConversionState) -> Any:
        return self._text(super().convert_condition_field_compare_op_val(cond, state))

    def convert_condition_field_eq_val_timestamp_part(self, cond: ConditionFieldEqualsValueExpression,
                                                      state: ConversionState) -> Any:
        return self._text(super().convert_condition_field_eq_val_timestamp_part(cond, state))

    def convert_condition_field_eq_query_expr(self, cond: ConditionFieldEqualsValueExpression,
                                              state: ConversionState) -> Any:
        return self._text(super().convert_condition_field_eq_query_expr(cond, state))

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        return self._text(super().convert_condition_val_str(cond, state))

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        return self._text(super().convert_condition_val_num(cond, state))

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        return self._text(super().convert_condition_val_re(cond, state))

    # -- whole queries: a dict as it is, no text post-processing ---------------------------

    def finish_query(self, rule: Any, query: Any, state: ConversionState) -> Any:
        return query

    def finalize_query(self, rule: Any, query: Any, index: int, state: ConversionState,
                       output_format: str) -> Any:
        return query

    def convert_dsl(self, rule: SigmaRule) -> list[Query]:
        """The DSL query of each condition of ``rule`` (the rule is processed in place)."""
        return [q for q in self.convert_rule(rule) if isinstance(q, dict)]
