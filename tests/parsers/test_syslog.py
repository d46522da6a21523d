"""Syslog headers: RFC 3164 variants, RFC 5424 with structured data, year-less stamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from parsers.syslog import (
    apply_header,
    parse_structured_data,
    resolve_year_less,
    split_rfc3164,
    split_rfc5424,
    split_syslog,
)

NOW = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
MINUS2 = timezone(timedelta(hours=-2))


def test_rfc3164_full_header() -> None:
    h = split_rfc3164("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed", UTC, NOW)
    assert h is not None
    assert (h.hostname, h.program, h.pid, h.priority) == ("mymachine", "su", "230", 34)
    assert (h.facility, h.severity) == (4, 2)
    assert h.message == "'su root' failed"
    assert h.timestamp == datetime(2025, 10, 11, 22, 14, 15, tzinfo=UTC)


def test_rfc3164_program_with_spaces_and_brackets_as_filebeat_reads_it() -> None:
    h = split_rfc3164("Dec 13 11:35:28 mac Google Chrome[85294]: objc[85294]: text", UTC, NOW)
    assert h is not None
    assert (h.program, h.pid, h.message) == ("Google Chrome", "85294", "objc[85294]: text")


def test_rfc3164_without_program_keeps_everything_as_message() -> None:
    h = split_rfc3164("Apr 4 03:39:57 --- last message repeated 1 time ---", UTC, NOW)
    assert h is not None
    assert h.program is None and h.hostname is None
    assert h.message == "--- last message repeated 1 time ---"
    assert split_rfc3164("Apr 4 03:39:57 no colon here", UTC, NOW, require_program=True) is None


def test_rfc3164_iso_timestamp_with_and_without_offset() -> None:
    h = split_rfc3164("2018-08-14T14:30:02.203151+02:00 linux-sqrz systemd[4179]: Stopped.", UTC, NOW)
    assert h is not None and h.timestamp == datetime(2018, 8, 14, 12, 30, 2, 203151, tzinfo=UTC)
    h = split_rfc3164("2019-06-14T10:40:20.912134 localhost sudo: x", MINUS2, NOW)
    assert h is not None and h.timestamp == datetime(2019, 6, 14, 12, 40, 20, 912134, tzinfo=UTC)


def test_year_less_stamp_in_the_future_belongs_to_last_year() -> None:
    # Read at 00:30 UTC on 1 January: "Dec 31 23:59" is yesterday, not next December.
    h = split_rfc3164("Dec 31 23:59:00 host app: x", UTC, NOW)
    assert h is not None and h.timestamp == datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
    h = split_rfc3164("Jan  1 00:29:59 host app: x", UTC, NOW)
    assert h is not None and h.timestamp == datetime(2026, 1, 1, 0, 29, 59, tzinfo=UTC)


def test_timezone_applies_to_year_less_stamps() -> None:
    h = split_rfc3164("Jun  1 10:00:00 host app: x", MINUS2, NOW)
    assert h is not None and h.timestamp == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_february_29_finds_a_leap_year_and_invalid_dates_fail() -> None:
    assert resolve_year_less(2, 29, 12, 0, 0, 0, UTC, NOW) == datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert resolve_year_less(2, 30, 12, 0, 0, 0, UTC, NOW) is None
    assert split_rfc3164("Feb 30 10:00:00 host app: x", UTC, NOW) is None


@given(
    st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
    st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
    st.sampled_from([UTC, MINUS2, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]),
)
def test_year_less_never_lands_in_the_future(
    month: int, day: int, hour: int, minute: int, second: int, now: datetime, tz: timezone
) -> None:
    dt = resolve_year_less(month, day, hour, minute, second, 0, tz, now)
    if dt is not None:
        assert dt <= now
        assert now - dt < timedelta(days=366 * 8 + 2)
        assert (dt.month, dt.day, dt.hour) == (month, day, hour)


def test_rfc5424_with_structured_data_and_bom() -> None:
    line = (
        '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 a="q\\"uote\\]"] '
        "\ufeffAn application event log entry"
    )
    h = split_rfc5424(line, UTC)
    assert h is not None
    assert (h.hostname, h.program, h.pid, h.msgid, h.version) == ("mymachine.example.com", "evntslog", None, "ID47", 1)
    assert h.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert h.structured_data == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
        "x@1": {"a": 'q"uote]'},
    }
    assert h.message == "An application event log entry"


def test_rfc5424_nil_values_and_no_message() -> None:
    h = split_rfc5424("<13>1 - - - - - -", UTC)
    assert h is not None
    assert (h.timestamp, h.hostname, h.program, h.message, h.structured_data) == (None, None, None, "", {})
    assert split_rfc5424("<999>1 - - - - - -", UTC) is None
    assert split_rfc5424("<13>1 2003-13-45T99:00:00Z h a p m - x", UTC) is None


def test_split_syslog_picks_the_format() -> None:
    five = split_syslog("<13>1 2020-01-01T00:00:00Z h app 12 - - hello", UTC, NOW)
    three = split_syslog("<13>Jan  1 00:00:00 h app[12]: hello", UTC, NOW)
    assert five is not None and five.format == "rfc5424"
    assert three is not None and three.format == "rfc3164"
    assert split_syslog("not syslog at all", UTC, NOW) is None


def test_parse_structured_data_nil() -> None:
    assert parse_structured_data("-") == {}


def test_apply_header_sets_ecs_fields() -> None:
    h = split_syslog("<165>1 2003-10-11T22:14:15Z host app 77 ID1 [a@1 k=\"v\"] msg", UTC, NOW)
    assert h is not None
    event: dict[str, object] = {"event": {}}
    apply_header(event, h)
    assert event["@timestamp"] == "2003-10-11T22:14:15.000Z"
    assert event["host"] == {"hostname": "host"}
    assert event["process"] == {"name": "app", "pid": 77}
    assert event["message"] == "msg"
    assert event["related"] == {"hosts": ["host"]}
    log = event["log"]
    assert isinstance(log, dict)
    assert log["syslog"]["facility"] == {"code": 20, "name": "local4"}
    assert log["syslog"]["severity"] == {"code": 5, "name": "Notice"}
    assert log["syslog"]["structured_data"] == {"a@1": {"k": "v"}}


def _reference_year_less(
    month: int, day: int, hour: int, minute: int, second: int, tz: timezone, now: datetime
) -> datetime | None:
    """The plain year-by-year search the cached resolver must agree with."""
    year = now.astimezone(tz).year
    for candidate in range(year, year - 9, -1):
        try:
            dt = datetime(candidate, month, day, hour, minute, second, tzinfo=tz)
        except ValueError:
            continue
        if dt <= now:
            return dt
    return None


@given(
    st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59),
    st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1),
                 timezones=st.sampled_from([UTC, MINUS2, timezone(timedelta(hours=13))])),
    st.sampled_from([UTC, MINUS2, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]),
)
def test_cached_year_less_agrees_with_a_plain_search(
    month: int, day: int, hour: int, minute: int, now: datetime, tz: timezone
) -> None:
    assert resolve_year_less(month, day, hour, minute, 0, 0, tz, now) == _reference_year_less(
        month, day, hour, minute, 0, tz, now
    )


def test_cached_stamps_follow_the_reference_time() -> None:
    # The same stamp text read at two reference times: the cache must not pin one year.
    line = "Dec 31 23:59:00 host app: x"
    first = split_rfc3164(line, UTC, NOW)
    later = split_rfc3164(line, UTC, datetime(2027, 1, 1, tzinfo=UTC))
    assert first is not None and first.timestamp == datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
    assert later is not None and later.timestamp == datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
