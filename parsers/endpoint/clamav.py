"""ClamAV logs to ECS (``clamav.log``): clamd, freshclam and clamscan output.

No Elastic module exists for ClamAV, so the formats come from ClamAV's own
documentation and the mapping follows the ECS conventions of the other antivirus
parsers here (a detection is an alert with ``rule.name`` = the signature):

* ``clamd.conf(5)``: ``LogFile`` lines, prefixed with ``"<ctime> -> "`` when ``LogTime``
  is on; ``LogSyslog`` sends the same messages through syslog (``clamd[pid]: ...``);
  ``ExtendedDetectionInfo`` appends ``(md5:size)`` to the signature name.
* ``clamd(8)``/``clamdscan(1)``: scan results ``<path>: <signature> FOUND``,
  ``<path>: OK`` and ``<path>: <reason> ERROR``; a stream is named
  ``instream(<ip>@<port>)``; ``SelfCheck: Database status OK.``.
* ``freshclam.conf(5)``/``freshclam(1)``: ``UpdateLogFile`` lines such as
  ``daily.cld updated (version: 26000, sigs: 2000000, f-level: 90, builder: raynman)``.
* ``clamscan(1)``: per-file results as above and the ``----------- SCAN SUMMARY
  -----------`` block (framed here as one event).

Warnings and errors carry ``WARNING:``/``ERROR:`` (or ``LibClamAV Warning:``) prefixes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import BinaryIO, ClassVar, Final

from parsers.base import BaseParser, LineFramer
from parsers.syslog import apply_header, split_rfc3164
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, format_timestamp, set_field

_MONTHS: Final = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# "Sun Nov 22 05:00:00 2026 -> message" (ctime(3) text, then " -> ").
_LOGTIME: Final = re.compile(
    r"^(?:[A-Z][a-z]{2}) (?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<year>\d{4})"
    r" -> (?P<msg>.*)$", re.S)
_LEVEL: Final = re.compile(r"^(?:LibClamAV )?(?P<level>WARNING|Warning|ERROR|Error|INFO|Info)[:!] ?(?P<msg>.*)$",
                           re.S)
_FOUND: Final = re.compile(
    r"^(?P<path>.*): (?P<sig>[^\s()]+?)(?:\((?P<md5>[0-9a-fA-F]{32}):(?P<size>\d+)\))? FOUND$")
_OK: Final = re.compile(r"^(?P<path>.*): OK$")
_ERROR: Final = re.compile(r"^(?P<path>.*): (?P<reason>.+) ERROR$")
_STREAM: Final = re.compile(r"^(?:in)?stream\((?P<ip>[^@()]+)@(?P<port>\d+)\)$")
_DATABASE: Final = re.compile(
    r"^(?P<name>[\w-]+\.c[lvu]d) (?P<state>database is up-to-date|database is up to date|updated)"
    r" \(version: (?P<version>\d+), sigs: (?P<sigs>\d+), f-level: (?P<flevel>\d+), builder: (?P<builder>[^)]*)\)")
_DAEMON: Final = re.compile(r"^(?P<program>clamd|freshclam)(?: daemon)? (?P<version>\d[\w.\-]*) \((?P<detail>[^)]*)\)")
_SUMMARY_HEADER: Final = "----------- SCAN SUMMARY -----------"
_SUMMARY_LINE: Final = re.compile(rb"^[A-Z][A-Za-z ]+: ")
_SUMMARY_KEYS: Final = {
    "known viruses": "known_viruses", "engine version": "engine_version",
    "scanned directories": "scanned_directories", "scanned files": "scanned_files",
    "infected files": "infected_files", "total errors": "total_errors", "data scanned": "data_scanned",
    "data read": "data_read", "time": "time",
}
# Plain messages whose meaning is fixed: message prefix -> (action, category, type).
_MESSAGES: Final = (
    ("SelfCheck: Database status OK", ("database-check", ["configuration"], ["info"])),
    ("SelfCheck: Database modification detected", ("database-changed", ["configuration"], ["change"])),
    ("Database correctly reloaded", ("database-reloaded", ["configuration"], ["change"])),
    ("Reading databases from", ("database-loading", ["configuration"], ["info"])),
    ("ClamAV update process started", ("update-started", ["configuration"], ["start"])),
    ("+++ Started at", ("started", ["process"], ["start"])),
    ("--- Stopped at", ("stopped", ["process"], ["end"])),
    ("Database updated", ("database-updated", ["configuration"], ["change"])),
)


class ClamavFramer(LineFramer):
    """One event per line, except that clamscan's ``SCAN SUMMARY`` header and the
    ``Key: value`` lines after it form one event."""

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
        offset = 0
        block: list[bytes] = []
        block_start = 0
        for line in stream:
            start = offset
            offset += len(line)
            body = line.rstrip(b"\r\n")
            if block and _SUMMARY_LINE.match(body):
                block.append(body)
                continue
            if block:
                yield block_start, b"\n".join(block)
                block = []
            if body.strip() == _SUMMARY_HEADER.encode():
                block, block_start = [body], start
            elif body.strip():
                yield start, body
        if block:
            yield block_start, b"\n".join(block)


def _ctime(match: re.Match[str], tz: tzinfo) -> datetime | None:
    month = _MONTHS.get(match.group("mon").lower())
    if month is None:
        return None
    hh, mm, ss = (int(x) for x in match.group("time").split(":"))
    try:
        when = datetime(int(match.group("year")), month, int(match.group("day")), hh, mm, ss, tzinfo=tz)
        when.astimezone(UTC)  # year 1 or 9999 may not fit once in UTC
    except (ValueError, OverflowError):
        return None
    return when


def _summary_date(text: str, tz: tzinfo) -> datetime | None:
    """clamscan's ``Start Date: 2026:11:22 05:00:00`` (local time)."""
    try:
        when = datetime.strptime(text.strip(), "%Y:%m:%d %H:%M:%S").replace(tzinfo=tz)
        when.astimezone(UTC)  # year 1 or 9999 may not fit once in UTC
    except (ValueError, OverflowError):
        return None
    return when


class ClamavParser(BaseParser):
    """clamd/freshclam log lines and clamscan output to ECS."""

    id = "clamav.log"
    framer = ClamavFramer()
    syslog_programs: ClassVar[tuple[str, ...]] = ("clamd", "freshclam", "clamav-milter", "clamonacc")
    route_signals: ClassVar[tuple[str, ...]] = (" FOUND", "SCAN SUMMARY", "freshclam", "clamd", "SelfCheck:")

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return any(s in text for s in self.route_signals) or text.endswith(": OK")

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message.strip()
        if not text:
            raise ParseError(self.id, "empty line")
        event = self.new_event(raw)
        event["observer"] = {"vendor": "Cisco", "product": "ClamAV"}
        tz = self.options.tz
        header = split_rfc3164(text, tz, self.options.clock.now(), require_program=True)
        if header is not None and header.program and "clam" in header.program.lower():
            apply_header(event, header, message=False)
            text = header.message.strip()
        else:
            stamped = _LOGTIME.match(text)
            if stamped:
                when = _ctime(stamped, tz)
                if when is not None:
                    event["@timestamp"] = format_timestamp(when)
                text = stamped.group("msg").strip()
        event["message"] = text
        if text.startswith(_SUMMARY_HEADER):
            self._summary(event, text, tz)
            return event
        level = _LEVEL.match(text)
        if level:
            name = level.group("level").lower()
            set_field(event, "log.level", "warning" if name.startswith("warn") else name)
            text = level.group("msg").strip()
        self._message(event, text)
        return event

    def _message(self, event: Event, text: str) -> None:
        ev = event["event"]
        found = _FOUND.match(text)
        if found:
            ev.update(kind="alert", category=["malware"], type=["info"], action="malware-detected",
                      outcome="success")
            set_field(event, "rule.name", found.group("sig"))
            self._target(event, found.group("path"))
            if found.group("md5"):
                set_field(event, "file.hash.md5", found.group("md5").lower())
                set_field(event, "file.size", int(found.group("size")))
                add_related(event, "hash", found.group("md5").lower())
            return
        ok = _OK.match(text)
        if ok and not text.startswith("SelfCheck"):
            ev.update(category=["file"], type=["info"], action="file-scanned-clean", outcome="success")
            self._target(event, ok.group("path"))
            return
        error = _ERROR.match(text)
        if error:
            ev.update(category=["file"], type=["info"], action="scan-error", outcome="failure")
            self._target(event, error.group("path"))
            set_field(event, "error.message", error.group("reason"))
            return
        database = _DATABASE.match(text)
        if database:
            updated = database.group("state") == "updated"
            ev.update(category=["configuration"], type=["change" if updated else "info"],
                      action="database-updated" if updated else "database-up-to-date", outcome="success")
            set_field(event, "clamav.database", {
                "name": database.group("name"), "version": int(database.group("version")),
                "signatures": int(database.group("sigs")), "functionality_level": int(database.group("flevel")),
                "builder": database.group("builder"),
            })
            return
        daemon = _DAEMON.match(text)
        if daemon:
            ev.update(category=["process"], type=["info"], action="daemon-version")
            set_field(event, "service.name", daemon.group("program"))
            set_field(event, "service.version", daemon.group("version"))
            return
        for prefix, (action, category, kind) in _MESSAGES:
            if text.startswith(prefix):
                ev.update(category=list(category), type=list(kind), action=action)
                return

    @staticmethod
    def _target(event: Event, path: str) -> None:
        """The scanned object: a file path, or the client of a clamd stream scan."""
        stream = _STREAM.match(path)
        if stream:
            set_field(event, "source.ip", stream.group("ip"))
            set_field(event, "source.port", int(stream.group("port")))
            add_related(event, "ip", stream.group("ip"))
            return
        set_field(event, "file.path", path)
        name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        if name:
            set_field(event, "file.name", name)
        directory = path[: len(path) - len(name)].rstrip("/\\")
        if directory:
            set_field(event, "file.directory", directory)

    @staticmethod
    def _summary(event: Event, text: str, tz: tzinfo) -> None:
        ev = event["event"]
        ev.update(category=["file"], type=["info"], action="scan-summary")
        scan: dict[str, object] = {}
        for line in text.split("\n")[1:]:
            key, _, value = line.partition(":")
            value = value.strip()
            name = key.strip().lower()
            if name in ("start date", "end date"):
                when = _summary_date(value, tz)
                if when is not None:
                    set_field(event, "event.start" if name == "start date" else "event.end", format_timestamp(when))
                continue
            field = _SUMMARY_KEYS.get(name)
            if field is None:
                continue
            scan[field] = int(value) if value.isdecimal() else value
        if scan:
            set_field(event, "clamav.scan", scan)
            infected = scan.get("infected_files")
            if isinstance(infected, int):
                ev["outcome"] = "success"
                if infected > 0:
                    ev["kind"] = "alert"
                    ev["category"] = ["malware", "file"]
