"""key=value and CSV helpers."""

from __future__ import annotations

import pytest

from parsers.kv import csv_fields, parse_csv, parse_kv, unescape_backslashes


def test_kv_quoted_and_bare_values() -> None:
    text = 'date=2020-01-01 srcip=10.0.0.1 msg="hello \\"big\\" world" action=\'deny\' empty= last=x'
    assert parse_kv(text) == {
        "date": "2020-01-01", "srcip": "10.0.0.1", "msg": 'hello "big" world', "action": "deny", "last": "x",
    }


def test_kv_keep_empty_lowercase_and_first_wins() -> None:
    assert parse_kv("A=1 b= A=2", keep_empty=True, lowercase_keys=True) == {"a": "1", "b": ""}


def test_kv_custom_separators() -> None:
    assert parse_kv("a:1, b:two words, c:3", kv_sep=":", pair_sep=",") == {"a": "1", "b": "two words", "c": "3"}


def test_kv_unterminated_quote_runs_to_end() -> None:
    assert parse_kv('a=1 b="never closed c=3') == {"a": "1", "b": "never closed c=3"}


@pytest.mark.parametrize(("text", "expected"), [("a\\nb", "a\nb"), ('\\"q\\"', '"q"'), ("x\\\\y", "x\\y")])
def test_unescape(text: str, expected: str) -> None:
    assert unescape_backslashes(text) == expected


def test_csv_quoting_and_names() -> None:
    assert parse_csv('1,"a,b","say ""hi""",') == ["1", "a,b", 'say "hi"', ""]
    assert csv_fields('1,"a,b",,z,extra', ["one", "two", "three", None]) == {"one": "1", "two": "a,b"}
    assert csv_fields("1,,3", ["a", "b", "c"], keep_empty=True) == {"a": "1", "b": "", "c": "3"}


def test_csv_never_raises_on_nul() -> None:
    assert parse_csv("a\x00b,c") in (["a\x00b", "c"],)
