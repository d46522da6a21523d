"""Syslog headers: RFC 3164 (BSD) and RFC 5424, split with one regex each, into ECS.

Vendor parsers call :func:`split_syslog` (or the format-specific splitters) on their
input, then parse the message part. Year-less RFC 3164 timestamps are resolved in a
configurable timezone against a reference time and never land after it: a stamp that
would be in the future belongs to the previous year (``Dec 31`` read on ``Jan 1``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Final

from soc_core.clock import Clock
from soc_core.event import Event, RawEvent, format_timestamp

MONTHS: Final = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
FACILITIES: Final = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)
SEVERITIES: Final = (
    "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug",
)

# The year-less (BSD) or ISO timestamp that starts an RFC 3164 line.
_TS = (
    r"(?P<stamp>(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2}) (?:(?P<year>\d{4}) )?"
    r"(?P<hh>\d{1,2}):(?P<mm>\d{2}):(?P<ss>\d{2})(?:[.,](?P<frac>\d{1,9}))?"
    r"|(?P<iso>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?))"
)
_PRI = r"(?:<(?P<pri>\d{1,3})>\s*)?"
# host: anything but brackets, not ending in ':' (so "prog:" is not taken for a host).
_HOST = r"(?P<host>[^\s\[\]]*[^\s\[\]:])"
# The program is the shortest text before an optional "[pid]" and ": " (grok's DATA, as
# Filebeat reads it), so "Google Chrome[85294]: ..." keeps its space; it never spans lines.
_RFC3164: Final = re.compile(
    _PRI + _TS + r" +(?:" + _HOST + r" )? ?(?P<prog>\S[^\n]*?)?(?:\[(?P<pid>\d+)\])?: ?(?P<msg>.*)",
    re.S,
)
# No "program:" part: the timestamp, then the message (as Filebeat's fallback pattern).
_RFC3164_BARE: Final = re.compile(_PRI + _TS + r" ?(?P<msg>.*)", re.S)
_RFC5424: Final = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<version>\d{1,2}) "
    r"(?P<ts>-|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) "
    r"(?P<host>\S{1,255}) (?P<app>\S{1,48}) (?P<procid>\S{1,128}) (?P<msgid>\S{1,32}) "
    r"(?P<sd>-|(?:\[(?:[^\]\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)(?: (?P<msg>.*))?",
    re.S,
)
# Quoted values as the unrolled loop [^"\\]*(?:\\.[^"\\]*)*: the matches of (?:[^"\\]|\\.)*
# without one alternation per character.
_SD_ELEMENT: Final = re.compile(
    r"\[(?P<id>[^\s\]=\"]+)(?P<params>(?:\s+[^\s=\]\"]+=\"[^\"\\]*(?:\\.[^\"\\]*)*\")*)\s*\]")
_SD_PARAM: Final = re.compile(r"([^\s=\]\"]+)=\"([^\"\\]*(?:\\.[^\"\\]*)*)\"")
_SD_UNESCAPE: Final = re.compile(r"\\([\"\\\]])")


@dataclass(slots=True)
class SyslogHeader:
    """The parts of a syslog header; absent parts are ``None``."""

    format: str
    message: str
    timestamp: datetime | None = None
    hostname: str | None = None
    program: str | None = None
    pid: str | None = None
    priority: int | None = None
    version: int | None = None
    msgid: str | None = None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def facility(self) -> int | None:
        return None if self.priority is None else self.priority >> 3

    @property
    def severity(self) -> int | None:
        return None if self.priority is None else self.priority & 7


@lru_cache(maxsize=8192)
def iso_utc(dt: datetime) -> str:
    """:func:`soc_core.event.format_timestamp`, cached: log lines repeat the same second,
    and formatting is a large share of a cheap parser's time."""
    return format_timestamp(dt)


# The program name alone, without building a timestamp: what ``auto`` routes on.
_PROGRAM: Final = re.compile(
    r"(?:<\d{1,3}>\s*)?(?:[A-Za-z]{3} +\d{1,2} (?:\d{4} )?\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"
    r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\S*) +(?:" + _HOST + r" )? ?(?P<prog>[^\s\[:(]+)(?:\([^)\s]*\))?"
    r"(?:\[\d+\])?:"
)


# RFC 5424: ``<pri>version timestamp hostname app-name ...``; "-" is no app-name.
_PROGRAM_5424: Final = re.compile(r"<\d{1,3}>\d{1,2} \S+ \S+ (?P<prog>[^\s\[:(]+) ")


def program_of(text: str) -> str | None:
    """The program name of a line, cheaply: RFC 3164's tag (``sshd`` in ``... host
    sshd[1]: ...``) or RFC 5424's APP-NAME, so that program-specific parsing does not
    depend on the header format the sender chose."""
    m = _PROGRAM.match(text)
    if m is not None:
        return m.group("prog")
    if text[:1] == "<":
        m = _PROGRAM_5424.match(text)
        if m is not None and m.group("prog") != "-":
            return m.group("prog")
    return None


def resolve_year_less(
    month: int, day: int, hour: int, minute: int, second: int, micro: int, tz: tzinfo, now: datetime
) -> datetime | None:
    """The latest date with this month/day/time in ``tz`` that is not after ``now``.

    Looks back up to 8 years so that ``Feb 29`` finds a leap year; ``None`` for a date
    that exists in no year (``Feb 30``).
    """
    for dt in year_less_occurrences(month, day, hour, minute, second, micro, tz, now.year):
        if dt <= now:
            return dt
    return None


@lru_cache(maxsize=8192)
def year_less_occurrences(
    month: int, day: int, hour: int, minute: int, second: int, micro: int, tz: tzinfo, year: int
) -> tuple[datetime, ...]:
    """Every valid datetime with these fields in ``tz``, latest first, from ``year + 1``
    back to ``year - 8``.

    Cached because logs repeat their stamps and building aware datetimes is a large share
    of a cheap parser's time. ``year`` is the reference time's own year; one more year on
    top covers a ``tz`` already in the next year, so picking the first occurrence not after
    the reference time gives what a year-by-year search from ``tz``'s year gives.
    """
    out: list[datetime] = []
    for candidate in range(year + 1, year - 9, -1):
        try:
            out.append(datetime(candidate, month, day, hour, minute, second, micro, tzinfo=tz))
        except ValueError:
            continue
    return tuple(out)


@lru_cache(maxsize=8192)
def year_less_stamps(
    month: int, day: int, hour: int, minute: int, second: int, micro: int, tz: tzinfo, year: int
) -> tuple[tuple[datetime, str], ...]:
    """:func:`year_less_occurrences`, each with its ``@timestamp`` text; the caller takes
    the first not after its reference time (as :func:`resolve_year_less`). Cached: parsers
    that read their own headers (ASA, iptables) call it once per line."""
    return tuple((ts, iso_utc(ts)) for ts in year_less_occurrences(month, day, hour, minute, second, micro, tz, year))


def _micros(frac: str | None) -> int:
    return int(frac[:6].ljust(6, "0")) if frac else 0


def parse_iso(text: str, tz: tzinfo) -> datetime | None:
    """An ISO-8601 stamp; one without an offset is read in ``tz``. ``None`` if invalid."""
    return _parse_iso(text, tz)


@lru_cache(maxsize=8192)
def _parse_iso(text: str, tz: tzinfo) -> datetime | None:
    # Cached: the same stamps come back line after line (datetimes are immutable).
    try:
        dt = datetime.fromisoformat(text.replace(",", "."))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def parse_bsd_timestamp(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """``Mmm dd [yyyy] hh:mm:ss[.frac]`` (year-less resolved against ``now``) or ISO-8601."""
    m = re.fullmatch(_TS, text.strip())
    return None if m is None else _timestamp(m, tz, now)


# (stamp text, zone, reference year) -> what _bsd_stamp says of it: logs repeat their
# stamps, and one lookup keyed on the whole text beats splitting it into parts first.
_STAMPS: dict[tuple[str, tzinfo, int], tuple[bool, tuple[datetime, ...]]] = {}
_STAMPS_MAX: Final = 8192


def _timestamp(m: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    key = (m.group("stamp"), tz, now.year)
    known = _STAMPS.get(key)
    if known is None:
        iso, mon, day, year, hh, mm, ss, frac = m.group("iso", "mon", "day", "year", "hh", "mm", "ss", "frac")
        if iso is not None:
            parsed = _parse_iso(iso, tz)
            known = (True, () if parsed is None else (parsed,))
        else:
            known = _bsd_stamp(mon, day, year, hh, mm, ss, frac, tz, now.year)
        if len(_STAMPS) >= _STAMPS_MAX:
            _STAMPS.clear()  # bounded: a long run over ever-new stamps starts afresh
        _STAMPS[key] = known
    fixed, occurrences = known
    if fixed:
        return occurrences[0] if occurrences else None
    for dt in occurrences:
        if dt <= now:
            return dt
    return None


@lru_cache(maxsize=8192)
def _bsd_stamp(
    mon: str, day: str, year: str | None, hh: str, mm: str, ss: str, frac: str | None, tz: tzinfo, now_year: int
) -> tuple[bool, tuple[datetime, ...]]:
    """A BSD stamp's parts as ``(fixed, datetimes)``: with a year, the one datetime (or
    none if invalid); year-less, its occurrences latest first (see :func:`year_less_occurrences`).

    Keyed on the text parts so a repeated stamp costs one cache lookup, not a parse.
    """
    month = MONTHS.get(mon.lower())
    if month is None:
        return True, ()
    d, h, mi, sec = int(day), int(hh), int(mm), int(ss)
    micro = _micros(frac)
    if year is not None:
        try:
            return True, (datetime(int(year), month, d, h, mi, sec, micro, tzinfo=tz),)
        except ValueError:
            return True, ()
    if h > 23 or mi > 59 or sec > 60:
        return True, ()
    if sec == 60:  # a leap second: keep the instant's minute, like most collectors
        sec = 59
    return False, year_less_occurrences(month, d, h, mi, sec, micro, tz, now_year)


def split_rfc3164(text: str, tz: tzinfo, now: datetime, require_program: bool = False) -> SyslogHeader | None:
    """Split a BSD syslog line; ``None`` when it has no recognisable header.

    The program part (``prog[pid]:``) is optional unless ``require_program``.
    """
    m = _RFC3164.match(text)
    if m is None:
        if require_program:
            return None
        m = _RFC3164_BARE.match(text)
        if m is None:
            return None
        program = pid = host = None
    else:
        program, pid, host = m.group("prog") or None, m.group("pid"), m.group("host")
    ts = _timestamp(m, tz, now)
    if ts is None:
        return None
    pri = m.group("pri")
    # Positional (format, message, timestamp, hostname, program, pid, priority): once per line.
    return SyslogHeader("rfc3164", m.group("msg"), ts, host, program, pid or None,
                        int(pri) if pri is not None and int(pri) < 192 else None)


def parse_structured_data(text: str) -> dict[str, dict[str, str]]:
    """RFC 5424 structured data ``[id k="v" ...]...`` as ``{id: {k: v}}``."""
    out: dict[str, dict[str, str]] = {}
    if text == "-":
        return out
    for element in _SD_ELEMENT.finditer(text):
        params = out.setdefault(element.group("id"), {})
        for key, value in _SD_PARAM.findall(element.group("params")):
            params[key] = _SD_UNESCAPE.sub(r"\1", value)
    return out


def split_rfc5424(text: str, tz: tzinfo) -> SyslogHeader | None:
    """Split an RFC 5424 line (``<pri>1 ts host app procid msgid sd msg``); ``None`` if not one."""
    m = _RFC5424.match(text)
    if m is None:
        return None
    pri = int(m.group("pri"))
    if pri > 191:
        return None
    ts = m.group("ts")
    timestamp = None if ts == "-" else parse_iso(ts, tz)
    if ts != "-" and timestamp is None:
        return None
    message = m.group("msg") or ""
    if message.startswith("\ufeff"):
        message = message[1:]  # RFC 5424 marks UTF-8 messages with a BOM: not content

    def nil(value: str) -> str | None:
        return None if value == "-" else value

    return SyslogHeader(
        format="rfc5424",
        message=message,
        timestamp=timestamp,
        hostname=nil(m.group("host")),
        program=nil(m.group("app")),
        pid=nil(m.group("procid")),
        priority=pri,
        version=int(m.group("version")),
        msgid=nil(m.group("msgid")),
        structured_data=parse_structured_data(m.group("sd")),
    )


def split_syslog(text: str, tz: tzinfo, now: datetime, require_program: bool = False) -> SyslogHeader | None:
    """RFC 5424 when the line says so (``<pri>1 ``), else RFC 3164."""
    if text.startswith("<"):
        close = text.find(">", 1, 5)
        if close > 0 and text[close + 1 : close + 2].isdecimal() and text[close + 2 : close + 3] in (" ", "0"):
            header = split_rfc5424(text, tz)
            if header is not None:
                return header
    return split_rfc3164(text, tz, now, require_program)


def apply_header(event: Event, header: SyslogHeader, message: bool = True) -> None:
    """Set the ECS fields a syslog header gives (as Filebeat's syslog processing does)."""
    if header.timestamp is not None:
        event["@timestamp"] = iso_utc(header.timestamp)
    hostname = header.hostname
    if hostname:
        event.setdefault("host", {})["hostname"] = hostname
        if hostname != "-":  # add_related(event, "hosts", hostname), inlined: once per line
            hosts = event.setdefault("related", {}).setdefault("hosts", [])
            if hostname not in hosts:
                hosts.append(hostname)
    process: dict[str, object] = {}
    if header.program:
        process["name"] = header.program
    if header.pid:
        process["pid"] = int(header.pid) if header.pid.isdecimal() else header.pid
    if process:
        event.setdefault("process", {}).update(process)
    if header.priority is not None or header.format == "rfc5424":
        syslog: dict[str, object] = {}
        if header.priority is not None:
            facility, severity = header.priority >> 3, header.priority & 7
            syslog["priority"] = header.priority
            syslog["facility"] = {"code": facility, "name": FACILITIES[facility]}
            syslog["severity"] = {"code": severity, "name": SEVERITIES[severity]}
        if header.version is not None:
            syslog["version"] = str(header.version)
        if header.hostname and header.format == "rfc5424":
            syslog["hostname"] = header.hostname
        if header.program and header.format == "rfc5424":
            syslog["appname"] = header.program
        if header.pid and header.format == "rfc5424":
            syslog["procid"] = header.pid
        if header.msgid:
            syslog["msgid"] = header.msgid
        if header.structured_data:
            syslog["structured_data"] = header.structured_data
        event.setdefault("log", {})["syslog"] = syslog
        if header.severity is not None:
            event["event"]["severity"] = header.severity
    if message:
        event["message"] = header.message


def apply_prefix_header(event: Event, prefix: str, tz: tzinfo, now: datetime) -> bool:
    """Apply the syslog header in front of a CEF or LEEF payload; True when there was one.

    ``<ts> <host> CEF:...`` has no program: the one word left after the stamp is the host.
    """
    if not prefix.strip():
        return False
    header = split_syslog(prefix.rstrip() + " ", tz, now)
    if header is None:
        return False
    if header.program is None and header.hostname is None:
        word = header.message.strip()
        if word and " " not in word:
            header.hostname, header.message = word, ""
    apply_header(event, header, message=False)
    return True


_MONTH_NAMES: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC5424_LEAD: Final = re.compile(r"<\d{1,3}>\d{1,2} ")


def parse_any_header(
    parse_bsd: Callable[[RawEvent], Event], raw: RawEvent, tz: tzinfo, clock: Clock, iso: bool = False
) -> Event:
    """``parse_bsd(raw)``, for RFC 5424 lines (and, with ``iso``, RFC 3164 lines with an
    ISO 8601 stamp, rsyslog's ``RSYSLOG_FileFormat``) through :func:`parse_as_bsd`: what a
    parser that reads its BSD header itself calls from ``parse``."""
    lead = raw.message[:1]
    if lead == "<" or (iso and lead.isdigit()):
        event = parse_as_bsd(parse_bsd, raw, tz, clock.now())
        if event is not None:
            return event
    return parse_bsd(raw)


_ISO_LEAD: Final = re.compile(r"(?:<\d{1,3}>)?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")


def parse_as_bsd(parse: Callable[[RawEvent], Event], raw: RawEvent, tz: tzinfo, now: datetime) -> Event | None:
    """Parse an RFC 5424 line, or an RFC 3164 line with an ISO 8601 stamp, with a parser
    that reads the BSD (RFC 3164, ``Mmm dd hh:mm:ss``) header itself.

    Senders choose the header format (rsyslog's ``RSYSLOG_SyslogProtocol23Format`` and
    ``RSYSLOG_FileFormat``, ``logger``'s default, ASA's ``logging timestamp rfc5424``),
    not the program: the program's own parsing must not depend on it. The line is
    rewritten with the same time (in ``tz``), host, program[pid] and message in BSD form,
    parsed, and the event then takes back what the BSD form cannot carry: the identity
    and original of the line received, the year and sub-second time, the priority, and
    the RFC 5424 fields under ``log.syslog``. ``None`` when ``raw`` is neither (the
    caller parses it as is).
    """
    text = raw.message
    if _RFC5424_LEAD.match(text) is not None:
        header = split_rfc5424(text, tz)
    elif _ISO_LEAD.match(text) is not None:
        header = split_rfc3164(text, tz, now, require_program=True)
    else:
        return None
    if header is None:
        return None
    stamp = (header.timestamp or raw.received).astimezone(tz)
    tag = header.program or "-"
    if header.pid:
        tag += f"[{header.pid}]"
    # Without "<pri>": the file form, which every BSD-reading parser takes.
    bsd = (f"{_MONTH_NAMES[stamp.month - 1]} {stamp.day:2d} {stamp:%H:%M:%S} "
           f"{header.hostname or '-'} {tag}: {header.message}")
    event = parse(replace(raw, data=bsd.encode("utf-8"), _text=bsd))
    meta = event["event"]
    meta["id"], meta["original"] = raw.event_id, text
    # The parser read the year-less header stamp (not a date of its own in the message):
    # put back the exact time the header gave.
    bsd_time = resolve_year_less(stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second, 0, tz, now)
    if header.timestamp is not None and bsd_time is not None and event.get("@timestamp") == iso_utc(bsd_time):
        event["@timestamp"] = iso_utc(header.timestamp)
        _shift_span(meta, header.timestamp - bsd_time)
    if header.priority is None and header.version is None:
        return event
    syslog = event.setdefault("log", {}).setdefault("syslog", {})
    if header.priority is not None:
        priority = header.priority
        syslog["priority"] = priority
        syslog["facility"] = {"code": priority >> 3, "name": FACILITIES[priority >> 3]}
        syslog["severity"] = {"code": priority & 7, "name": SEVERITIES[priority & 7]}
    if header.version is not None:
        syslog["version"] = str(header.version)
    for key, value in (("hostname", header.hostname), ("appname", header.program), ("procid", header.pid),
                       ("msgid", header.msgid)):
        if value and header.version is not None:
            syslog[key] = value
    if header.structured_data:
        syslog["structured_data"] = header.structured_data
    return event


def _shift_span(meta: dict[str, object], delta: timedelta) -> None:
    """Move ``event.start``/``event.end`` (worked out from the header time) by ``delta``."""
    if not delta:
        return
    for key in ("start", "end"):
        value = meta.get(key)
        if isinstance(value, str):
            try:
                meta[key] = format_timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")) + delta)
            except ValueError:
                continue
