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

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, BinaryIO, ClassVar, Final

from parsers.base import LINE_FRAMER, MAX_EVENT_BYTES, LineFramer, ParserOptions, input_source, open_log
from parsers.web import ecs
from parsers.web.common import GrokWebParser, Groups, capture_groups, layout_reader, slash_stamp
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

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        pattern = self._pattern
        times = capture_groups(pattern)["_time"]
        # One getter per layout (alternative) of IIS_ACCESS_LINE, in its order in web.grok.
        ends = (*times[1:], None)
        self._layouts = tuple(
            (times[n], layout_reader(pattern, paths, start=times[n], end=ends[n])) for n, paths in enumerate(_LAYOUTS)
        )

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        if text.startswith("#"):
            raise ParseError(self.id, "W3C directive line, not an event")
        m = self._fullmatch(text)
        event = self.new_event(raw) if m is not None else None
        try:
            if m is not None and event is not None:
                self._build_layout(event, m.groups())
            else:
                # Not one of Filebeat's fixed layouts: use the file's own #Fields header.
                header = raw.extra.get(W3C_FIELDS_KEY)
                if not header:
                    raise ParseError(
                        self.id, "line does not match the iis.access layouts and no #Fields header is known")
                fields = fields_from_header(self.id, header, text)
                event = self.new_event(raw)
                self.build(event, fields)
        except TimestampError as exc:
            raise ParseError(self.id, f"bad timestamp: {exc}") from None
        if event["@timestamp"] is None:  # the skeleton leaves it to the build
            event["@timestamp"] = format_timestamp(raw.received)
        return event

    def read_file(self, path: str, received: datetime) -> Iterator[RawEvent]:
        """Lines of a W3C log, each carrying the ``#Fields`` header in force above it."""
        header: tuple[str, ...] = ()
        source = input_source(path)
        with open_log(path) as stream:
            for offset, body in LINE_FRAMER.frames(stream):
                if body.startswith(b"#"):
                    if body.startswith(b"#Fields:"):
                        header = tuple(body[8:].decode("utf-8", "replace").split())
                    continue
                extra: dict[str, Any] = {W3C_FIELDS_KEY: header}
                if len(body) > MAX_EVENT_BYTES:
                    extra["truncated_from"] = len(body)
                    body = body[:MAX_EVENT_BYTES]
                yield RawEvent.from_bytes(body, source, received, offset, extra=extra)

    def _build_layout(self, event: Event, groups: Groups) -> None:
        # The groups of the layout that matched, read by position (no captures dict).
        (layout_1, read_1), (layout_2, read_2), (layout_3, read_3), (_, read_4) = self._layouts
        site = computer = version = cookie = host = forwarded = referrer = server = None
        resp_bytes = req_bytes = None
        if groups[layout_1] is not None:
            (time, server, method, path, query, port, user, client, agent, referrer, status, sub_status,
             win32_status, duration, forwarded) = read_1(groups)
        elif groups[layout_2] is not None:
            (time, site, method, path, query, port, user, client, agent, cookie, referrer, host, status,
             sub_status, win32_status, resp_bytes, req_bytes, duration) = read_2(groups)
        elif groups[layout_3] is not None:
            (time, site, computer, server, method, path, query, port, user, client, version, agent, cookie,
             referrer, host, status, sub_status, win32_status, resp_bytes, req_bytes, duration,
             forwarded) = read_3(groups)
        else:
            (time, server, method, path, query, port, user, client, agent, status, sub_status, win32_status,
             duration) = read_4(groups)
        # W3C writes "-" for "no value" (an empty capture is none either); one comprehension
        # per kind rather than a helper call per field.
        server, path, query, user, client, agent, cookie, referrer, host, forwarded = [
            None if not value or value == "-" else value
            for value in (server, path, query, user, client, agent, cookie, referrer, host, forwarded)
        ]
        numbers: list[int | None] = [
            int(value) if value else None
            for value in (port, status, sub_status, win32_status, resp_bytes, req_bytes, duration)
        ]
        port_no, status_no, sub_no, win32_no, resp_no, req_no, duration_ms = numbers
        self.fill(event, time or "", site, computer, server, method, path, query, port_no, user, client, version,
                  agent, cookie, referrer, host, status_no, sub_no, win32_no, resp_no, req_no, duration_ms,
                  forwarded)

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        # Captures from a #Fields header (see fields_from_header): "-" already dropped.
        get = fields.get
        self.fill(event, fields["_time"], get("iis.access.site_name"), get("iis.access.server_name"),
                  _value(fields, "_server"), get("http.request.method"), _value(fields, "_path"),
                  _value(fields, "_query"), get("destination.port"), _value(fields, "_user"),
                  _value(fields, "_client"), get("http.version"), _value(fields, "_agent"),
                  _value(fields, "_cookie"), _value(fields, "_referrer"), _value(fields, "_host"),
                  get("http.response.status_code"), get("iis.access.sub_status"), get("iis.access.win32_status"),
                  get("http.response.body.bytes"), get("http.request.body.bytes"), get("_duration"),
                  _value(fields, "_forwarded"))

    def fill(self, event: Event, time: str, site: str | None, computer: str | None, server: str | None,
             method: str | None, path: str | None, query: str | None, port: int | None, user: str | None,
             client: str | None, version: str | None, agent: str | None, cookie: str | None,
             referrer: str | None, host: str | None, status: int | None, sub_status: int | None,
             win32_status: int | None, resp_bytes: int | None, req_bytes: int | None, duration: int | None,
             forwarded: str | None) -> None:
        """Write the ECS objects of one W3C line (``None``: field absent or ``-``).

        Objects are built directly, keys in the order the generic ``apply`` of the
        layouts' captures gave them; this runs for every line.
        """
        event["@timestamp"] = slash_stamp(time, UTC)
        access: dict[str, Any] = {}
        if site:
            access["site_name"] = site
        if computer:
            access["server_name"] = computer
        if access:
            event["iis"] = {"access": access}
        http: dict[str, Any] = {}
        request: dict[str, Any] = {}
        if method:
            request["method"] = method
            http["request"] = request
            event["http"] = http
        if port is not None:
            event["destination"] = {"port": port}
        if version:
            http["version"] = version
        if status is not None:
            http["response"] = {"status_code": status}
        if sub_status is not None or win32_status is not None:
            if sub_status is not None:
                access["sub_status"] = sub_status
            if win32_status is not None:
                access["win32_status"] = win32_status
            event.setdefault("iis", {"access": access})
        if resp_bytes is not None:
            http.setdefault("response", {})["body"] = {"bytes": resp_bytes}
        if req_bytes is not None:
            request["body"] = {"bytes": req_bytes}
            http.setdefault("request", request)
        if http:
            event.setdefault("http", http)
        ev = event["event"]
        if duration is not None:
            ev["duration"] = duration * 1_000_000
        if server is not None:  # set_server_client, inlined
            destination: dict[str, Any] = event.setdefault("destination", {})
            destination["address"] = server
            ip = ecs.as_ip(server)
            if ip is not None:
                destination["ip"] = ip
                event["related"] = {"ip": [ip]}
        if client is not None:
            source: dict[str, Any] = {"address": client}
            event["source"] = source
            ip = ecs.as_ip(client)
            if ip is not None:
                source["ip"] = ip
                ecs.add_ip(event, ip)
        url: dict[str, Any] | None = None
        if path is not None:
            url = event["url"] = _url_path(path)
        if query is not None:
            if url is None:
                url = event["url"] = {}
            url["query"] = _decode_query(query)
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
            event["network"] = {"forwarded_ip": forwarded}
        if agent is not None:
            event["user_agent"] = ecs.user_agent(agent.replace("+", " "))
        if status is not None:
            ev["outcome"] = "failure" if status >= 400 else "success"  # ecs.outcome, inlined
        if server is not None:
            ev["category"] = ["network", "web"]
            ev["type"] = ["connection"]
        else:
            ev["category"] = ["web"]


# Capture paths of the IIS_ACCESS_LINE layouts, in the order _build_layout reads them.
_LAYOUTS: Final = (
    ("_time", "_server", "http.request.method", "_path", "_query", "destination.port", "_user", "_client",
     "_agent", "_referrer", "http.response.status_code", "iis.access.sub_status", "iis.access.win32_status",
     "_duration", "_forwarded"),
    ("_time", "iis.access.site_name", "http.request.method", "_path", "_query", "destination.port", "_user",
     "_client", "_agent", "_cookie", "_referrer", "_host", "http.response.status_code", "iis.access.sub_status",
     "iis.access.win32_status", "http.response.body.bytes", "http.request.body.bytes", "_duration"),
    ("_time", "iis.access.site_name", "iis.access.server_name", "_server", "http.request.method", "_path",
     "_query", "destination.port", "_user", "_client", "http.version", "_agent", "_cookie", "_referrer", "_host",
     "http.response.status_code", "iis.access.sub_status", "iis.access.win32_status", "http.response.body.bytes",
     "http.request.body.bytes", "_duration", "_forwarded"),
    ("_time", "_server", "http.request.method", "_path", "_query", "destination.port", "_user", "_client",
     "_agent", "http.response.status_code", "iis.access.sub_status", "iis.access.win32_status", "_duration"),
)


def _text(value: str | None) -> str | None:
    # W3C writes "-" for "no value"; an empty capture is no value either.
    return None if not value or value == "-" else value


@lru_cache(maxsize=4096)  # the same pages come back again and again
def _url_path_items(path: str) -> tuple[tuple[str, Any], ...]:
    parts = ecs.split_url(path)
    items: list[tuple[str, Any]] = [("original", path), ("path", parts.get("path", path))]
    if "extension" in parts:
        items.append(("extension", parts["extension"]))
    return tuple(items)


def _url_path(path: str) -> dict[str, Any]:
    """A new ``url`` object from ``cs-uri-stem`` (the query comes in its own field)."""
    return dict(_url_path_items(path))


@lru_cache(maxsize=4096)
def _decode_query(query: str) -> str:
    return ecs.decode_query(query)


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

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        self._read = layout_reader(self._pattern, _HTTPERR)

    def build_groups(self, event: Event, groups: Groups) -> None:
        # Objects written directly from the groups, keys in the order the generic
        # ``apply`` of the captures dict gave them: this runs for every line.
        (time, client, source_port, server, destination_port, version, method, target, stream, status, site,
         reason, queue) = self._read(groups)
        event["@timestamp"] = slash_stamp(time or "", UTC)
        if source_port:
            event["source"] = {"port": int(source_port)}
        if destination_port:
            event["destination"] = {"port": int(destination_port)}
        http: dict[str, Any] = {}
        if version:
            http["version"] = version
        if method:
            http["request"] = {"method": method}
        if status:
            http["response"] = {"status_code": int(status)}
        if http:
            event["http"] = http
        error: dict[str, Any] = {}
        if stream:
            error["stream_id"] = int(stream)
        if site:
            error["site_id"] = site
        if reason:
            error["reason_phrase"] = reason
        if queue:
            error["queue_name"] = queue
        if error:
            event["iis"] = {"error": error}
        set_server_client(event, _text(server), _text(client))
        target = _text(target)
        if target is not None:
            ecs.set_url(event, target)
        ev = event["event"]
        if status:
            ev["outcome"] = "failure" if int(status) >= 400 else "success"  # ecs.outcome, inlined
        ev["category"] = ["network", "web"]
        ev["type"] = ["connection"]


# Capture paths of IIS_ERROR_LINE, in the order build_groups reads them.
_HTTPERR: Final = (
    "_time", "_client", "source.port", "_server", "destination.port", "http.version", "http.request.method", "_url",
    "iis.error.stream_id", "http.response.status_code", "iis.error.site_id", "iis.error.reason_phrase",
    "iis.error.queue_name",
)
