"""The analyst query grammar: what each construct parses to, and where errors point."""

from __future__ import annotations

import pytest

from soc_core.errors import QuerySyntaxError
from soc_core.query import parse_query
from soc_core.query.ast import And, Cidr, Exists, MatchAll, Not, Or, Range, Term, Text, Wildcard


@pytest.mark.parametrize(
    ("query", "ast"),
    [
        ("", MatchAll()),
        ("*", MatchAll()),
        ("source.ip:1.2.3.4", Term("source.ip", "1.2.3.4")),
        ('user.name:"Nguyễn Văn A"', Term("user.name", "Nguyễn Văn A")),
        ("url.path:/admin/*", Wildcard("url.path", "/admin/*")),
        ("host.name:cam-??", Wildcard("host.name", "cam-??")),
        ("source.ip:10.0.0.0/8", Cidr("source.ip", "10.0.0.0/8")),
        ("destination.port:[1 TO 1024]", Range("destination.port", "1", "1024", True, True)),
        ("destination.port:{1 TO *]", Range("destination.port", "1", None, False, True)),
        ("event.severity >= 3", Range("event.severity", "3", None, True, True)),
        ("event.severity:<3", Range("event.severity", None, "3", True, False)),
        ("_exists_:user.name", Exists("user.name")),
        ("user.name:*", Exists("user.name")),
        ("failed", Text("failed", phrase=True)),
        ('"failed password"', Text("failed password", phrase=True)),
        ("pass*", Text("pass", prefix=True)),
        ("message:denied", Text("denied", phrase=True)),
        ("mac:90:10:35:5a", Term("mac", "90:10:35:5a")),
        ("a:1 b:2", And((Term("a", "1"), Term("b", "2")))),
        ("a:1 or b:2 and c:3", Or((Term("a", "1"), And((Term("b", "2"), Term("c", "3")))))),
        ("NOT a:1", Not(Term("a", "1"))),
        ("-a:1 && !b:2", And((Not(Term("a", "1")), Not(Term("b", "2"))))),
        ("(a:1 || b:2) c:3", And((Or((Term("a", "1"), Term("b", "2"))), Term("c", "3")))),
        ("f:(x OR y*)", Or((Term("f", "x"), Wildcard("f", "y*")))),
        ("f:(x AND NOT y)", And((Term("f", "x"), Not(Term("f", "y"))))),
        (r"file.path:C\:\\Windows", Term("file.path", "C:\\Windows")),
    ],
)
def test_parses_to(query: str, ast: object) -> None:
    assert parse_query(query) == ast


@pytest.mark.parametrize(
    ("query", "column", "words"),
    [
        ("source.ip:1.2.3.4 AND (user.name:x", 35, "expected ')'"),
        ("a:b)", 4, "unexpected ')'"),
        ("a:[1 TO", 8, "range bound"),
        ("event.severity >=", 18, "value"),
        ("a AND", 6, "search term"),
        ("fo?o", 1, "trailing *"),
        ("a:", 3, "ends too early"),
        # Issue #20 item 10: a prefix the address family cannot have is refused, not "0 hits".
        ("source.ip:10.0.0.0/33", 11, "prefix length must be 0 to 32"),
        ("source.ip:fe80\\:\\:1/129", 11, "0 to 128"),
    ],
)
def test_errors_point_at_the_column(query: str, column: int, words: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.column == column
    assert words in str(info.value)
    assert str(info.value).splitlines()[-1].index("^") == column + 1  # under the column, after 2 spaces


def test_a_slash_in_other_values_stays_a_literal() -> None:
    assert parse_query("url.path:a/b") == Term("url.path", "a/b")
    assert parse_query("x:1.2.3.4/abc") == Term("x", "1.2.3.4/abc")


@pytest.mark.parametrize(("query", "reason"), [
    ("(" * 48 + "a:b" + ")" * 48, "nested deeper than 16 levels"),
    ("NOT " * 96 + "a:b", "nested deeper than 16 levels"),
    ("- " * 17 + "a:b", "nested deeper than 16 levels"),
    ("a:" + "(" * 40 + "b" + ")" * 40, "nested deeper than 16 levels"),
    ("(NOT " * 9 + "a:b" + ")" * 9, "nested deeper than 16 levels"),
    (" OR ".join(f"a:{i}" for i in range(1025)), "1025 terms, more than 1024"),
    ("a:" + "x" * 20_000, "longer than 20000 characters"),
    ("user\x00name:alice", "control character U+0000"),
    ("_exists_:a\x1f", "control character U+001F"),
])
def test_hostile_queries_are_refused_with_the_limit_they_break(query: str, reason: str) -> None:
    """Issue #21 item 5: 48 parentheses or 96 NOTs raised RecursionError."""
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert reason in info.value.reason


@pytest.mark.parametrize("query", [
    "(" * 16 + "a:b" + ")" * 16,
    "NOT " * 16 + "a:b",
    "a:" + "(" * 15 + "b" + ")" * 15,
    " OR ".join(f"a:{i}" for i in range(1024)),
    "a:foo\\(\\(\\( AND " + "(" * 15 + "b:c" + ")" * 15,
    'a:"((((((((((((((((((((" AND b:-x',
])
def test_queries_within_the_limits_parse(query: str) -> None:
    assert parse_query(query) is not None
