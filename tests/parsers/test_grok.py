"""The grok engine: grammar, compilation to one anchored regex, casts, errors, routing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers.grok import GrokError, GrokLibrary, default_library, set_fields


def test_compile_and_match_with_casts() -> None:
    pat = default_library().compile("%{IPORHOST:source.address} %{INT:source.port:int} %{GREEDYDATA:message}")
    assert pat.match("10.0.0.1 8080 hello world") == {
        "source.address": "10.0.0.1", "source.port": 8080, "message": "hello world",
    }
    assert pat.fields == ("source.address", "source.port", "message")


def test_match_is_anchored_at_both_ends() -> None:
    pat = default_library().compile("%{INT:n:int}")
    assert pat.match("42") == {"n": 42}
    assert pat.match("42 ") is None
    assert pat.match(" 42") is None


def test_float_cast_and_bracket_fields() -> None:
    pat = default_library().compile("%{NUMBER:[event][duration]:float}s")
    assert pat.match("1.5s") == {"event.duration": 1.5}


def test_empty_captures_are_left_out_and_first_capture_wins() -> None:
    pat = default_library().compile("%{DATA:a}x(?:%{INT:a}|y)")
    assert pat.match("x7") == {"a": "7"}
    assert pat.match("bxy") == {"a": "b"}


def test_nested_captures_of_library_patterns() -> None:
    fields = default_library().compile("%{SYSLOGBASE} %{GREEDYDATA:message}").match(
        "Feb  8 21:51:14 localhost sshd[123]: Accepted password"
    )
    assert fields == {
        "timestamp": "Feb  8 21:51:14", "host.hostname": "localhost", "process.name": "sshd",
        "process.pid": 123, "message": "Accepted password",
    }


def test_oniguruma_named_groups() -> None:
    pat = default_library().compile(r"(?<user.name>[a-z]+)@(?<[host][name]>\S+)")
    assert pat.match("root@box") == {"user.name": "root", "host.name": "box"}


def test_cast_failure_is_no_match() -> None:
    pat = default_library().compile("%{NOTSPACE:n:int}")
    assert pat.match("12") == {"n": 12}
    assert pat.match("1x") is None


@pytest.mark.parametrize(
    ("text", "sample", "expected"),
    [
        ("%{IPV4:ip}", "192.168.1.255", True),
        ("%{IPV4:ip}", "192.168.1.256", False),
        ("%{IPV6:ip}", "fe80::1ff:fe23:4567:890a", True),
        ("%{IPV6:ip}", "2001:db8::", True),
        ("%{IP:ip}", "::ffff:10.0.0.1", True),
        ("%{MAC:m}", "00:1b:2c:3d:4e:5f", True),
        ("%{SYSLOGTIMESTAMP:t}", "Dec 31 23:59:59", True),
        ("%{TIMESTAMP_ISO8601:t}", "2024-01-02T03:04:05.123+02:00", True),
        ("%{HTTPDATE:t}", "10/Oct/2000:13:55:36 -0700", True),
        ("%{EMAILADDRESS:e}", "a.b@example.org", True),
        ("%{URI:u}", "https://user@host.example:8443/a/b?c=d", True),
        ("%{QUOTEDSTRING:q}", '"a \\" b"', True),
        ("%{LOGLEVEL:l}", "WARNING", True),
        ("%{POSINT:p}", "0", False),
    ],
)
def test_standard_library_patterns(text: str, sample: str, expected: bool) -> None:
    assert (default_library().compile(text).match(sample) is not None) is expected


def test_library_file_with_forward_reference_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "mine.grok"
    path.write_text("# comment\n\nPAIR %{KEY}=%{VALUE}\nKEY [a-z]+\nVALUE \\d+\n")
    lib = GrokLibrary()
    lib.load_file(path)
    lib.load_file(path)  # a second load of the same file is a no-op
    assert lib.compile("%{PAIR:kv}").match("ab=12") == {"kv": "ab=12"}


@pytest.mark.parametrize(
    ("content", "line", "pattern", "reason"),
    [
        ("OK \\d+\nBAD %{NOPE}\n", 2, "BAD", "unknown pattern %{NOPE}"),
        ("A %{B}\nB %{A}\n", None, None, "recursive pattern"),
        ("OK \\d+\n\nBROKEN (unclosed\n", 3, "BROKEN", "invalid regular expression"),
        ("ALONE\n", 1, "ALONE", "expected 'NAME regex'"),
        ("X \\d\nX \\w\n", 2, "X", "defined twice"),
        ("W \\w+\nT %{W:n:complex}\n", 2, "T", "unknown type"),
        ("M a%{INT\n", 1, "M", "malformed"),
    ],
)
def test_errors_name_file_line_and_pattern(
    tmp_path: Path, content: str, line: int | None, pattern: str | None, reason: str
) -> None:
    path = tmp_path / "bad.grok"
    path.write_text(content)
    with pytest.raises(GrokError) as info:
        GrokLibrary().load_file(path)
    assert info.value.source == str(path)
    assert reason in info.value.reason
    if line is not None:
        assert info.value.line == line
        assert info.value.pattern == pattern
        assert f"{path}:{line}: pattern {pattern}:" in str(info.value)


def test_redefinition_by_another_file_is_refused(tmp_path: Path) -> None:
    lib = GrokLibrary()
    lib.load_text("N \\d+", "one.grok")
    lib.load_text("N \\d+", "same-body.grok")  # identical redefinition is harmless
    with pytest.raises(GrokError, match=r"other.grok:1: pattern N: already defined differently in one.grok:1"):
        lib.load_text("N \\w+", "other.grok")
    assert lib.compile("%{N:n:int}").match("5") == {"n": 5}


def test_unknown_reference_in_inline_pattern() -> None:
    with pytest.raises(GrokError, match="unknown pattern"):
        default_library().compile("%{NOT_A_PATTERN:x}")


def test_router_runs_only_the_selected_pattern() -> None:
    lib = default_library()
    router = lib.router(
        key=lambda text: text.split(" ", 1)[0],
        routes={"conn": "conn %{IP:source.ip}", "user": "user %{USERNAME:user.name}"},
    )
    assert router.match("conn 10.1.1.1") == ("conn", {"source.ip": "10.1.1.1"})
    assert router.match("user alice") == ("user", {"user.name": "alice"})
    assert router.match("user 10.1.1.1!") is None
    assert router.match("other x") is None
    with_default = lib.router(key=lambda text: None, routes={}, default="%{GREEDYDATA:message}")
    assert with_default.match("x") == (None, {"message": "x"})


def test_compile_is_cached() -> None:
    lib = default_library()
    assert lib.compile("%{WORD:w}") is lib.compile("%{WORD:w}")


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        # One path in two slots: the first slot that matched wins, at its own position.
        ("(?:%{WORD:a} %{INT:b:int}|%{INT:b:int}-%{WORD:c})", "x 5", {"a": "x", "b": 5}),
        ("(?:%{WORD:a} %{INT:b:int}|%{INT:b:int}-%{WORD:c})", "7-y", {"b": 7, "c": "y"}),
        ("%{INT:n:int} (?:%{WORD:w}|%{INT:w})", "3 9", {"n": 3, "w": "9"}),
        ("%{WORD:w}( %{WORD:w})?", "a b", {"w": "a"}),
        # Different casts on one path: the slot-by-slot loop decides.
        ("(?:%{INT:v:int}|%{WORD:v})", "12", {"v": 12}),
        ("(?:%{INT:v:int}|%{WORD:v})", "ab", {"v": "ab"}),
    ],
)
def test_fast_match_agrees_with_the_slot_rules(pattern: str, text: str, expected: dict[str, object]) -> None:
    compiled = GrokLibrary()
    compiled.load_files(sorted((Path(__file__).resolve().parents[2] / "parsers" / "patterns").glob("*.grok")))
    pat = compiled.compile(pattern)
    result = pat.match(text)
    assert result == expected
    assert list(result or {}) == list(expected)


def test_slots_name_group_index_path_cast_and_earlier_slots() -> None:
    pat = default_library().compile("%{WORD:a} (?:%{INT:b:int}|%{WORD:b})")
    slots = pat.slots
    assert [(s.path, s.cast) for s in slots] == [("a", None), ("b", int), ("b", None)]
    assert slots[0].earlier == () and slots[1].earlier == ()
    assert slots[2].earlier == (slots[1].group,)
    m = pat.regex.fullmatch("x 12")
    assert m is not None
    assert [m.groups()[s.group] for s in slots] == ["x", "12", None]


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("%{IPORHOST:source.address} %{INT:source.port:int} %{GREEDYDATA:message}", "10.0.0.1 0 hi"),
        ("(?:%{WORD:a.x} %{INT:b.y:int}|%{INT:b.y:int}-%{WORD:c})", "7-y"),
        ("(?:%{WORD:a.x} %{INT:b.y:int}|%{INT:b.y:int}-%{WORD:c})", "x 5"),
        ("%{WORD:w.v}( %{WORD:w.v})?", "a b"),
        ("(?:%{INT:v:int}|%{WORD:v})", "ab"),
        ("%{WORD:source.user.group.name} %{WORD:source.user.name} %{WORD:host.name}", "g u h"),
        ("%{WORD:host}(?: %{WORD:host.name})?", "a b"),  # a leaf replaced by a parent, as set_fields does
    ],
)
def test_fill_writes_what_set_fields_of_match_writes(pattern: str, text: str) -> None:
    pat = default_library().compile(pattern)
    expected: dict[str, object] = {"host": {"hostname": "x"}}
    set_fields(expected, pat.match(text) or {})
    filled: dict[str, object] = {"host": {"hostname": "x"}}
    assert pat.fill(filled, text) is True
    assert filled == expected
    assert json.dumps(filled) == json.dumps(expected)  # the same key order, at every level


def test_fill_leaves_the_event_untouched_without_a_match() -> None:
    pat = default_library().compile("%{WORD:a.b} %{NOTSPACE:a.n:int}")
    event: dict[str, object] = {"x": 1}
    assert pat.fill(event, "w 1x") is False  # the cast fails: nothing written
    assert pat.fill(event, "nope") is False
    assert event == {"x": 1}
