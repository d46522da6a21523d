"""Microsoft IIS parsers: ``iis.access`` (W3C extended log) and ``iis.error`` (HTTPERR log).

Mapped as Elastic's Filebeat ``iis`` module does: fixed W3C field orders (see
``web.grok``), ``-`` meaning "no value", ``+`` standing for spaces in the user agent,
``time-taken`` (ms) into ``event.duration`` (ns). W3C directive lines (``#Fields:`` ...)
are skipped, as Filebeat's ``exclude_lines: ['^#']`` does. A line in none of Filebeat's
layouts is read with the file's own ``#Fields`` header instead (``read_file`` hands
each line the header in force above it), so custom field selections still parse. IIS writes W3C
and HTTPERR times in UTC whatever the server's zone, so ``--tz`` does not apply here.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, ClassVar, Final, cast

from parsers.base import LINE_FRAMER, MAX_EVENT_BYTES, LineFramer
from parsers.web import ecs
from parsers.web.common import GrokWebParser, slash_stamp
from parsers.web.timestamps import TimestampError
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp


class W3CFramer(LineFramer):
    """Lines of a W3C extended log, without the ``#`` directive lines."""

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
        for offset, body in super().frames(stream):
            if not body.startswith(b"#"):
                yield offset, body


W3C_FRAMER = W3CFramer()


def _open(path: str) -> BinaryIO:
    if path.endswith(".gz"):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


def _w3c_date_first(text: str) -> bool:
    return len(text) > 20 and text[4] == "-" and text[7] == "-" and text[10] == " "


def _httperr_shape(text: str) -> bool:
    # HTTPERR lines carry the client and server ports as the 4th and 6th fields.
    parts = text.split(" ", 6)
    return len(parts) == 7 and parts[3].isdecimal() and parts[5].isdecimal()


W3C_FIELDS_KEY: Final = "w3c_fields"

# W3C extended field names (IIS "W3C Logging Fields") to the capture names of web.grok:
# (key, cast); "_x" keys are converted by IisAccessParser.build like the grok captures.
W3C_FIELDS: Final[dict[str, tuple[str, Callable[[str], Any] | None]]] = {
    "s-sitename": ("iis.access.site_name", None),
    "s-computername": ("iis.access.server_name", None),
    "s-ip": ("_server", None),
    "cs-method": ("http.request.method", None),
    "cs-uri-stem": ("_path", None),
    "cs-uri-query": ("_query", None),
    "s-port": ("destination.port", int),
    "cs-username": ("_user", None),
    "c-ip": ("_client", None),
    "cs-version": ("http.version", lambda v: v.removeprefix("HTTP/")),
    "cs(user-agent)": ("_agent", None),
    "cs(cookie)": ("_cookie", None),
    "cs(referer)": ("_referrer", None),
    "cs-host": ("_host", None),
    "sc-status": ("http.response.status_code", int),
    "sc-substatus": ("iis.access.sub_status", int),
    "sc-win32-status": ("iis.access.win32_status", int),
    "sc-bytes": ("http.response.body.bytes", int),
    "cs-bytes": ("http.request.body.bytes", int),
    "time-taken": ("_duration", int),
    "x-forwarded-for": ("_forwarded", None),
    "originalip": ("_forwarded", None),
}


def fields_from_header(parser_id: str, header: tuple[str, ...], text: str) -> dict[str, Any]:
    """Captures for ``build`` from a line and the ``#Fields`` directive that describes it."""
    values = text.split(" ")
    if len(values) != len(header):
        raise ParseError(parser_id, f"{len(values)} values for {len(header)} #Fields names")
    by_name = dict(zip((name.lower() for name in header), values, strict=True))
    date, time = by_name.pop("date", None), by_name.pop("time", None)
    if not date or not time:
        raise ParseError(parser_id, "#Fields header without date and time")
    fields: dict[str, Any] = {"_time": f"{date} {time}"}
    for name, value in by_name.items():
        target = W3C_FIELDS.get(name)
        if target is None or value == "-":
            continue
        key, cast = target
        try:
            fields[key] = cast(value) if cast is not None else value
        except ValueError:
            raise ParseError(parser_id, f"{name}: not a number: {value!r}") from None
    return fields


def _value(fields: dict[str, Any], key: str) -> str | None:
    value = fields.pop(key, None)
    return None if value in (None, "-") else str(value)


def set_server_client(event: Event, server: str | None, client: str | None) -> None:
    """``destination.*`` (the server) and ``source.*`` (the client), IPs into related.ip."""
    if server is not None:
        ecs.set_endpoint(event, "destination", server)
    if client is not None:
        ecs.set_endpoint(event, "source", client)


class IisAccessParser(GrokWebParser):
    """IIS W3C extended access logs (u_ex*.log)."""

    id = "iis.access"
    pattern_name = "IIS_ACCESS_LINE"
    framer = W3C_FRAMER
    route_signals: ClassVar[tuple[str, ...]] = (
        "W3SVC", "Mozilla/5.0+(", "Mozilla/4.0+(", " GET /", " POST /", " HEAD /", " PUT /", " OPTIONS ",
    )

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return _w3c_date_first(text) and not _httperr_shape(text)

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        if text.startswith("#"):
            raise ParseError(self.id, "W3C directive line, not an event")
        fields = self._pattern.match(text)
        if fields is None:
            # Not one of Filebeat's fixed layouts: use the file's own #Fields header.
            header = raw.extra.get(W3C_FIELDS_KEY)
            if not header:
                raise ParseError(self.id, "line does not match the iis.access layouts and no #Fields header is known")
            fields = fields_from_header(self.id, header, text)
        event = self.new_event(raw)
        try:
            self.build(event, fields)
        except TimestampError as exc:
            raise ParseError(self.id, f"bad timestamp: {exc}") from None
        if event["@timestamp"] is None:  # the skeleton leaves it to the build
            event["@timestamp"] = format_timestamp(raw.received)
        return event

    def read_file(self, path: str, received: datetime) -> Iterator[RawEvent]:
        """Lines of a W3C log, each carrying the ``#Fields`` header in force above it."""
        header: tuple[str, ...] = ()
        with _open(path) as stream:
            for offset, body in LINE_FRAMER.frames(stream):
                if body.startswith(b"#"):
                    if body.startswith(b"#Fields:"):
                        header = tuple(body[8:].decode("utf-8", "replace").split())
                    continue
                extra: dict[str, Any] = {W3C_FIELDS_KEY: header}
                if len(body) > MAX_EVENT_BYTES:
                    extra["truncated_from"] = len(body)
                    body = body[:MAX_EVENT_BYTES]
                yield RawEvent.from_bytes(body, path, received, offset, extra=extra)

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        event["@timestamp"] = slash_stamp(fields.pop("_time"), UTC)
        server = _value(fields, "_server")
        client = _value(fields, "_client")
        path = _value(fields, "_path")
        query = _value(fields, "_query")
        user = _value(fields, "_user")
        agent = _value(fields, "_agent")
        cookie = _value(fields, "_cookie")
        referrer = _value(fields, "_referrer")
        host = _value(fields, "_host")
        forwarded = _value(fields, "_forwarded")
        duration = fields.pop("_duration", None)
        self.apply(event, fields)
        if duration is not None:
            event["event"]["duration"] = duration * 1_000_000
        set_server_client(event, server, client)
        if path is not None:
            url: dict[str, Any] = event.setdefault("url", {})
            url["original"] = path
            parts = ecs.split_url(path)  # cached
            url["path"] = parts.get("path", path)
            if "extension" in parts:
                url["extension"] = parts["extension"]
        if query is not None:
            event.setdefault("url", {})["query"] = ecs.decode_query(query)
        if host is not None:
            event.setdefault("destination", {})["domain"] = host
            event.setdefault("url", {})["domain"] = host
        if user is not None:
            event["user"] = {"name": user}
        if referrer is not None:
            event.setdefault("http", {}).setdefault("request", {})["referrer"] = referrer
        if cookie is not None:
            event.setdefault("iis", {}).setdefault("access", {})["cookie"] = cookie
        if forwarded is not None:
            event.setdefault("network", {})["forwarded_ip"] = forwarded
        if agent is not None:
            event["user_agent"] = ecs.user_agent(agent.replace("+", " "))
        status = fields.get("http.response.status_code")
        if status is not None:
            event["event"]["outcome"] = ecs.outcome(status)
        if server is not None:
            ecs.web_kind(event, ["network", "web"], ["connection"])
        else:
            ecs.web_kind(event, ["web"])


class IisErrorParser(GrokWebParser):
    """IIS HTTP.sys error logs (httperr*.log)."""

    id = "iis.error"
    pattern_name = "IIS_ERROR_LINE"
    framer = W3C_FRAMER
    # s-reason values of HTTP.sys ("HTTP API error logging", Microsoft Learn).
    route_signals: ClassVar[tuple[str, ...]] = (
        " Timer_", " Connection_", " BadRequest ", " Hostname ", " URL ", " Verb ", " Version ",
        " Forbidden ", " NotFound ", " Client_Reset ", " AppOffline ", " QueueFull ", " Internal ",
        " RequestLength ", " FieldLength ", " Header ", " Invalid_CR/LF ", " N/I ", " Unavailable ",
    )

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return _w3c_date_first(text) and _httperr_shape(text)

    def parse(self, raw: RawEvent) -> Event:
        if raw.message.startswith("#"):
            raise ParseError(self.id, "W3C directive line, not an event")
        return super().parse(raw)

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        event["@timestamp"] = slash_stamp(fields.pop("_time"), UTC)
        server = _value(fields, "_server")
        client = _value(fields, "_client")
        target = _value(fields, "_url")
        self.apply(event, fields)
        set_server_client(event, server, client)
        if target is not None:
            ecs.set_url(event, target)
        status = fields.get("http.response.status_code")
        if status is not None:
            event["event"]["outcome"] = ecs.outcome(status)
        ecs.web_kind(event, ["network", "web"], ["connection"])
