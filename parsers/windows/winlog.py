"""The ``winlog`` parser: Windows event logs (``.evtx`` and JSON exports) to ECS.

Reading: ``.evtx`` files are decoded by the ``evtx`` package into JSON (much faster
than its XML output); JSON exports may be one event per line, concatenated or
pretty-printed objects (the SigmaHQ regression data), a JSON array, or Elastic's
pipeline-test layout ``{"events": [...]}``, or NXLog JSON. Each record becomes one
``RawEvent`` whose ``data`` is the record's JSON (re-serialised compactly for JSON
exports, so that pretty-printing does not change event ids) and whose
``extra["record"]`` carries the decoded object, so the parser does not decode it twice.

Offsets (``log.offset``): for ``.evtx`` files the record number from the record's
header (stable and unique within the file, unlike a byte position inside a binary
chunk; it equals ``winlog.record_id`` in logs Windows wrote itself, not always in
exported or filtered copies); for JSON text the byte offset of the object's first byte. Elements of
an ``{"events": [...]}`` document get no offset: they have no position of their own.

Parsing: the record is shaped as Winlogbeat's ``winlog.*`` (see ``record.py``), then
mapped to ECS per channel as Elastic's ingest pipelines do (``ecs.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar

import evtx
import orjson

from parsers.base import STDIN_PATH, BaseParser, ParserOptions, input_source, is_read_once, open_log
from parsers.windows.ecs import winlog_to_ecs
from parsers.windows.record import is_nxlog, winlog_from_evtx, winlog_from_nxlog, winlog_from_winlogbeat
from soc_core.errors import InputDamaged, ParseError
from soc_core.event import Event, RawEvent, dumps, format_timestamp, parse_timestamp, pipeline_error

EVTX_MAGIC = b"ElfFile\x00"
# An EVTX file is a 4 KiB header and chunks of 64 KiB; the evtx package names a chunk it
# cannot read by number ("Failed to parse chunk number 3") or by the records it holds.
_EVTX_HEADER_BYTES = 4096
_EVTX_CHUNK_BYTES = 65536
_CHUNK_NUMBER = re.compile(r"chunk number (\d+)")
_MAX_EVTX_STEPS = 100_000_000
_BLANKS = " \t\r\n\ufeff"  # between JSON values (a byte-order mark may lead the file)
_ECS_OBJECTS = frozenset({
    "host", "user", "process", "source", "destination", "file", "group", "service", "registry", "dns",
    "network", "related", "threat", "rule", "powershell", "url", "error",
})


def _local_time(text: str, tz: tzinfo) -> datetime | None:
    """An ISO-like stamp; without an offset it is taken in ``tz``."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _is_evtx(path: str) -> bool:
    if is_read_once(path):
        return False  # an EVTX file needs seeking; a pipe is read once, as a JSON export
    with open(path, "rb") as stream:
        return stream.read(8) == EVTX_MAGIC


def iter_evtx_raw(path: str, received: datetime) -> Iterator[RawEvent]:
    """One raw event per EVTX record, in record order (offset = the header's record number)."""
    source = os.path.abspath(path)
    try:
        records = evtx.PyEvtxParser(source).records_json()
    except (RuntimeError, OSError) as exc:
        # A header the evtx package cannot read (truncated or not an EVTX file): it
        # reports those as RuntimeError or OSError.
        raise ParseError("winlog", f"{source}: unreadable EVTX header: {exc}") from None
    damaged: list[str] = []
    # Bounded: the evtx package reports each unreadable chunk once and goes on to the next
    # (a file holds at most a few thousand chunks of 64 KiB, records far fewer than this).
    for _ in range(_MAX_EVTX_STEPS):
        try:
            rec: Any = next(records)
        except StopIteration:
            break
        except (RuntimeError, OSError) as exc:
            # A corrupt chunk (RuntimeError, or OSError): the records of the other chunks
            # are still read; the damage is reported once the readable ones are out.
            damaged.append(str(exc).split(": ")[0])
            continue
        if not rec:
            continue
        raw_bytes = str(rec["data"]).encode("utf-8")
        yield RawEvent(data=raw_bytes, source=source, received=received,
                       offset=int(rec["event_record_id"]), extra={"record": orjson.loads(raw_bytes)})
    if damaged:
        first = _CHUNK_NUMBER.search(damaged[0])
        offset = _EVTX_HEADER_BYTES + int(first.group(1)) * _EVTX_CHUNK_BYTES if first else None
        more = f" and {len(damaged) - 1} more" if len(damaged) > 1 else ""
        raise InputDamaged(source, f"{len(damaged)} unreadable EVTX chunk(s): {damaged[0]}{more}", offset)


def _byte_offsets(text: str) -> Iterator[tuple[int, Any]]:
    """Decode consecutive JSON values (NDJSON, concatenated or pretty-printed objects),
    yielding each one's byte offset (the text is UTF-8) and value."""
    lead = len(text) - len(text.lstrip(_BLANKS))
    try:
        # Fast path, and the usual case: the whole file is one object or array.
        value = orjson.loads(text[lead:])
    except orjson.JSONDecodeError:
        pass
    else:
        yield len(text[:lead].encode("utf-8")), value
        return
    decoder = json.JSONDecoder()
    pos = 0
    byte_pos = 0
    length = len(text)
    while True:
        start = pos
        while pos < length and text[pos] in _BLANKS:
            pos += 1
        byte_pos += len(text[start:pos].encode("utf-8"))
        if pos >= length:
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ParseError("winlog", f"invalid JSON at byte {byte_pos}: {exc.msg}") from None
        except RecursionError:
            # The stdlib decoder recurses per nesting level; absurd nesting is bad input.
            raise ParseError("winlog", f"JSON nested too deeply at byte {byte_pos}") from None
        yield byte_pos, value
        byte_pos += len(text[pos:end].encode("utf-8"))
        pos = end


def iter_json_raw(path: str, received: datetime) -> Iterator[RawEvent]:
    """Raw events from a JSON export (see the module docstring for the layouts)."""
    source = input_source(path)
    # Plain bytes (a ``.gz`` export is not unpacked here), or standard input.
    with open_log(path) if path == STDIN_PATH else open(path, "rb") as stream:
        text = stream.read().decode("utf-8", errors="replace")
    for offset, value in _byte_offsets(text):
        if isinstance(value, Mapping) and isinstance(value.get("events"), list) and "Event" not in value:
            # Elastic pipeline-test layout: the elements have no position of their own.
            for item in value["events"]:
                yield RawEvent(data=dumps(item), source=source, received=received,
                               extra={"record": item})
        elif isinstance(value, list):
            for item in value:
                yield RawEvent(data=dumps(item), source=source, received=received,
                               extra={"record": item})
        else:
            yield RawEvent(data=dumps(value), source=source, received=received,
                           offset=offset, extra={"record": value})


class WinlogParser(BaseParser):
    """Windows event log records to ``winlog.*`` plus ECS, dataset chosen per channel."""

    id = "winlog"
    # Routing hints for ``auto`` (a JSON object must carry every json_key): Winlogbeat
    # documents by their winlog object, evtx-JSON records by a System member name.
    json_keys: ClassVar[tuple[str, ...]] = ("winlog.event_id",)
    route_signals: ClassVar[tuple[str, ...]] = ('"EventRecordID"',)

    def read_file(self, path: str, received: datetime) -> Iterator[RawEvent]:
        """Yield one raw event per record of an ``.evtx`` file or JSON export."""
        if _is_evtx(path):
            yield from iter_evtx_raw(path, received)
        else:
            yield from iter_json_raw(path, received)

    def accepts(self, raw: RawEvent) -> bool:
        record = raw.extra.get("record")
        if isinstance(record, Mapping):
            return "Event" in record or "winlog" in record or is_nxlog(record)
        head = raw.data[:200].lstrip()
        return head.startswith(b"{") and (b'"Event"' in raw.data or b'"winlog"' in raw.data)

    def parse(self, raw: RawEvent) -> Event:
        record = raw.extra.get("record")
        if not isinstance(record, Mapping):
            try:
                record = orjson.loads(raw.data)
            except orjson.JSONDecodeError as exc:
                raise ParseError(self.id, f"not JSON: {exc}") from None
        if not isinstance(record, Mapping):
            raise ParseError(self.id, "not a JSON object")
        event = self.new_event(raw)
        if "Event" in record:
            winlog = winlog_from_evtx(record)
        elif isinstance(record.get("winlog"), Mapping):
            # A Winlogbeat document: keep its other fields, as an ingest pipeline would.
            for key, value in record.items():
                if key in ("winlog", "event", "log") or key in event:
                    continue
                # ECS objects this parser fills must stay objects, whatever the input says.
                if key in _ECS_OBJECTS and not isinstance(value, dict):
                    continue
                event[key] = value
            for key in ("event", "log"):
                if isinstance(record.get(key), Mapping):
                    event[key] = {**record[key], **event.get(key, {})}
            stamp = record.get("@timestamp")
            if isinstance(stamp, str):
                # The shipper's time stands unless winlog.time_created gives the real one.
                with contextlib.suppress(ValueError, OverflowError):
                    event["@timestamp"] = format_timestamp(parse_timestamp(stamp))
            winlog = winlog_from_winlogbeat(record["winlog"])
        elif is_nxlog(record):
            winlog = winlog_from_nxlog(record)
            created = winlog.get("time_created")
            if isinstance(created, str):
                # NXLog's EventTime is local time of the collector unless it says otherwise.
                when = _local_time(created, self.options.tz)
                if when is not None:
                    # Year 1 or 9999 near a zone offset does not fit in UTC: keep the text.
                    with contextlib.suppress(OverflowError):
                        winlog["time_created"] = format_timestamp(when)
        else:
            raise ParseError(self.id, "not an evtx record (Event), Winlogbeat document (winlog) or NXLog record")
        winlog_to_ecs(winlog, event, self.id)
        return event


class SystemSecurityParser(WinlogParser):
    """``--parser system.security``: the same reader, named as Elastic's data stream."""

    id = "system.security"
    # Aliases carry no routing hints: ``auto`` routes Windows records to ``winlog``.
    json_keys: ClassVar[tuple[str, ...]] = ()
    route_signals: ClassVar[tuple[str, ...]] = ()


class SysmonParser(WinlogParser):
    """``--parser windows.sysmon_operational``."""

    id = "windows.sysmon_operational"
    # Aliases carry no routing hints: ``auto`` routes Windows records to ``winlog``.
    json_keys: ClassVar[tuple[str, ...]] = ()
    route_signals: ClassVar[tuple[str, ...]] = ()


class PowershellParser(WinlogParser):
    """``--parser windows.powershell``."""

    id = "windows.powershell"
    # Aliases carry no routing hints: ``auto`` routes Windows records to ``winlog``.
    json_keys: ClassVar[tuple[str, ...]] = ()
    route_signals: ClassVar[tuple[str, ...]] = ()


class PowershellOperationalParser(WinlogParser):
    """``--parser windows.powershell_operational``."""

    id = "windows.powershell_operational"
    # Aliases carry no routing hints: ``auto`` routes Windows records to ``winlog``.
    json_keys: ClassVar[tuple[str, ...]] = ()
    route_signals: ClassVar[tuple[str, ...]] = ()


class ForwardedParser(WinlogParser):
    """``--parser windows.forwarded``."""

    id = "windows.forwarded"
    # Aliases carry no routing hints: ``auto`` routes Windows records to ``winlog``.
    json_keys: ClassVar[tuple[str, ...]] = ()
    route_signals: ClassVar[tuple[str, ...]] = ()


class DefenderParser(WinlogParser):
    """``--parser windows.windows_defender``: Defender Operational channel events."""

    id = "windows.windows_defender"
    # Aliases carry no routing hints: ``auto`` routes Windows records to ``winlog``.
    json_keys: ClassVar[tuple[str, ...]] = ()
    route_signals: ClassVar[tuple[str, ...]] = ()


def read_evtx(path: str, options: ParserOptions | None = None) -> Iterator[Event]:
    """Parsed ECS events of one ``.evtx`` file, in record order.

    A record the parser cannot handle is yielded as a dead letter
    (``event.kind: pipeline_error``) so that one bad record never hides the rest.
    """
    parser = WinlogParser(options)
    received = parser.options.clock.now().astimezone(UTC)
    for raw in iter_evtx_raw(path, received):
        try:
            yield parser.parse(raw)
        except ParseError as exc:
            yield pipeline_error(raw, exc.parser_id, exc.reason)
