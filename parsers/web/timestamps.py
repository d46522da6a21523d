"""Timestamp readers for the layouts web servers write, without ``strptime`` on the hot path.

Readers are cached, since consecutive lines repeat their timestamps. Every reader returns
an aware datetime: an explicit offset wins, otherwise the parser's
configured zone applies. Fractions are cut to milliseconds, as Elasticsearch's ``date``
processor stores them, so our ``@timestamp`` equals Elastic's.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Final

from soc_core.clock import Clock

MONTHS: Final = {
    m: i for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}


class TimestampError(ValueError):
    """A timestamp text that does not fit its layout (the parser turns it into ParseError)."""


@lru_cache(maxsize=256)
def _offset(text: str) -> tzinfo:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if len(digits) != 4 or not digits.isdecimal():
        raise TimestampError(f"bad UTC offset {text!r}")
    try:
        return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    except ValueError:
        raise TimestampError(f"UTC offset out of range {text!r}") from None


def _millis(fraction: str) -> int:
    # Cut (not round) to milliseconds, as Elasticsearch does.
    if not fraction.isdecimal():
        raise TimestampError(f"bad fraction {fraction!r}")
    return int((fraction + "000")[:3]) * 1000


def _build(year: int, month: int, day: int, clock_text: str, tz: tzinfo) -> datetime:
    hms, _, fraction = clock_text.partition(".")
    parts = hms.split(":")
    if len(parts) != 3 or not all(p.isdecimal() for p in parts):
        raise TimestampError(f"bad time of day {clock_text!r}")
    try:
        return datetime(year, month, day, int(parts[0]), int(parts[1]), int(parts[2]),
                        _millis(fraction) if fraction else 0, tzinfo=tz)
    except ValueError as exc:
        raise TimestampError(str(exc)) from None


def _month(name: str) -> int:
    try:
        return MONTHS[name[:1].upper() + name[1:3].lower()]
    except KeyError:
        raise TimestampError(f"unknown month {name!r}") from None


@lru_cache(maxsize=2048)  # log lines share their second: convert each once
def http_date(text: str, tz: tzinfo) -> datetime:
    """``26/Dec/2016:16:16:29 +0200`` (Apache/nginx ``%t``; also haproxy's ``.395`` form)."""
    date, _, rest = text.partition(":")
    clock_text, _, offset = rest.partition(" ")
    pieces = date.split("/")
    if len(pieces) != 3 or not pieces[0].isdecimal() or not pieces[2].isdecimal():
        raise TimestampError(f"bad date {date!r}")
    return _build(int(pieces[2]), _month(pieces[1]), int(pieces[0]), clock_text, _offset(offset) if offset else tz)


@lru_cache(maxsize=2048)  # log lines share their second: convert each once
def ctime_date(text: str, tz: tzinfo) -> datetime:
    """``Mon Dec 26 16:15:55.103522 2016`` (Apache error log)."""
    pieces = text.split()
    if len(pieces) != 5 or not pieces[2].isdecimal() or not pieces[4].isdecimal():
        raise TimestampError(f"bad date {text!r}")
    return _build(int(pieces[4]), _month(pieces[1]), int(pieces[2]), pieces[3], tz)


@lru_cache(maxsize=2048)  # log lines share their second: convert each once
def slash_date(text: str, tz: tzinfo) -> datetime:
    """``2016/10/25 14:49:34`` (nginx error log) or ISO ``2018-01-01 08:09:10`` (IIS)."""
    date, _, clock_text = text.partition(" ")
    pieces = date.replace("-", "/").split("/")
    if len(pieces) != 3 or not all(p.isdecimal() for p in pieces):
        raise TimestampError(f"bad date {date!r}")
    return _build(int(pieces[0]), int(pieces[1]), int(pieces[2]), clock_text.strip(), tz)


def syslog_date(text: str, tz: tzinfo, clock: Clock) -> datetime:
    """``Sep 20 15:42:59`` (no year): the latest year that does not put it in the future.

    One day of slack allows for clocks that run a little ahead of ours.
    """
    now = clock.now().astimezone(tz)
    # Cached per (text, zone, current hour): the answer only changes around New Year.
    return _syslog_date(text, tz, now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))


@lru_cache(maxsize=2048)
def _syslog_date(text: str, tz: tzinfo, now: datetime) -> datetime:
    pieces = text.split()
    if len(pieces) != 3 or not pieces[1].isdecimal():
        raise TimestampError(f"bad syslog date {text!r}")
    month, day = _month(pieces[0]), int(pieces[1])
    for year in range(now.year, now.year - 8, -1):
        try:
            candidate = _build(year, month, day, pieces[2], tz)
        except TimestampError:
            continue  # 29 February in a non-leap year: go back to the last leap year
        if candidate <= now + timedelta(days=1):
            return candidate
    raise TimestampError(f"impossible syslog date {text!r}")
