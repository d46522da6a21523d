"""HAProxy parser: ``haproxy.log`` (syslog lines in the HTTP, TCP, connect and error layouts).

Other messages of the program (server state changes, start-up) keep their text in
``message``. Mapped as Elastic's Filebeat ``haproxy`` module does: timers and counters into
``haproxy.*``, the total time ``Tt`` (ms) into ``event.duration`` (ns), the client into
``source.*``, the request line into ``http.*``/``url.*``. The request date HAProxy writes
(with its year) gives ``@timestamp``; the year-less syslog date is the fallback.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar, Final

from parsers.base import ParserOptions
from parsers.syslog import parse_any_header
from parsers.web import ecs
from parsers.web.apache import split_client
from parsers.web.common import GrokWebParser, Groups, capture_groups, http_stamp, layout_reader
from parsers.web.timestamps import syslog_date
from soc_core.event import Event, RawEvent


def _headers(text: str | None) -> list[str] | None:
    # Captured headers are "|"-separated; Elastic keeps the non-empty ones.
    if text is None:
        return None
    return [h for h in text.split("|") if h]


class HaproxyParser(GrokWebParser):
    """HAProxy log lines as received from syslog."""

    id = "haproxy.log"
    pattern_name = "HAPROXY_LINE"
    syslog_programs: ClassVar[tuple[str, ...]] = ("haproxy",)
    route_signals: ClassVar[tuple[str, ...]] = (" haproxy[",)

    def accepts(self, raw: RawEvent) -> bool:
        return "haproxy" in raw.message

    def parse(self, raw: RawEvent) -> Event:
        return parse_any_header(super().parse, raw, self.options.tz, self.options.clock, iso=True)

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        pattern = self._pattern
        clients = capture_groups(pattern)["_client"]
        self._head = layout_reader(pattern, _HEAD, end=clients[0])
        # One getter per layout (alternative) of HAPROXY_LINE, in its order in web.grok.
        self._http = layout_reader(pattern, _HTTP, start=clients[0], end=clients[1])
        self._tcp = layout_reader(pattern, _TCP, start=clients[1], end=clients[2])
        self._connect = layout_reader(pattern, _CONNECT, start=clients[2], end=clients[3])
        self._error = layout_reader(pattern, _ERROR, start=clients[3], end=capture_groups(pattern)["message"][0])
        self._clients = clients
        self._message = capture_groups(pattern)["message"][0]

    def build_groups(self, event: Event, groups: Groups) -> None:
        # Objects are written directly from the groups of the layout that matched, keys in
        # the order the generic ``apply`` of the captures dict gave them (golden output).
        syslog_time, host, program, pid = self._head(groups)
        process: dict[str, Any] = {"name": program} if program else {}
        if pid:
            process["pid"] = int(pid)
        http_at, tcp_at, connect_at, error_at = self._clients
        haproxy: dict[str, Any]
        request_date = destination = request_line = None
        status = duration = None
        request_headers = response_headers = None
        if groups[http_at] is not None:
            (client, request_date, frontend, backend, server, tq, tw, tc, tr, duration, status, size, cookie_in,
             cookie_out, state, active, fe_conn, be_conn, srv_conn, retries, srv_queue, be_queue,
             request_headers, response_headers, request_line) = self._http(groups)
            request: dict[str, Any] = {"time_wait_ms": int(tq or 0), "time_wait_without_data_ms": int(tr or 0),
                                       "captured_cookie": cookie_in}
            if request_line:
                request["raw_request_line"] = request_line
            haproxy = {
                "frontend_name": frontend, "backend_name": backend, "server_name": server,
                "http": {"request": request, "response": {"captured_cookie": cookie_out}},
                "total_waiting_time_ms": int(tw or 0), "connection_wait_time_ms": int(tc or 0),
                "bytes_read": int(size or 0), "termination_state": state,
                "connections": _connections(active, fe_conn, be_conn, srv_conn, retries),
                "server_queue": int(srv_queue or 0), "backend_queue": int(be_queue or 0),
            }
        elif groups[tcp_at] is not None:
            (client, request_date, frontend, backend, server, tw, tc, duration, size, state, active, fe_conn,
             be_conn, srv_conn, retries, srv_queue, be_queue) = self._tcp(groups)
            haproxy = {
                "frontend_name": frontend, "backend_name": backend, "server_name": server,
                "total_waiting_time_ms": int(tw or 0), "connection_wait_time_ms": int(tc or 0),
                "bytes_read": int(size or 0), "termination_state": state,
                "connections": _connections(active, fe_conn, be_conn, srv_conn, retries),
                "server_queue": int(srv_queue or 0), "backend_queue": int(be_queue or 0),
            }
        elif groups[connect_at] is not None:
            client, destination, frontend, mode = self._connect(groups)
            haproxy = {"frontend_name": frontend, "mode": mode}
        elif groups[error_at] is not None:
            client, request_date, frontend, bind, error = self._error(groups)
            haproxy = {"frontend_name": frontend, "bind_name": bind}
            if error:
                haproxy["error_message"] = error
        else:
            client = None
            haproxy = {}
        tz = self.options.tz
        if request_date:
            event["@timestamp"] = http_stamp(request_date, tz)
        else:
            self.set_time(event, syslog_date(syslog_time or "", tz, self.options.clock))
        if self._zone:  # event.timezone, its text worked out once (__init__)
            event["event"]["timezone"] = self._zone
        if process:
            event["process"] = process
        message = groups[self._message]
        if message:
            event["message"] = message
        event["haproxy"] = haproxy
        if status:
            event["http"] = {"response": {"status_code": int(status)}}
        if ecs.as_ip(host or "") is not None:
            haproxy["source"] = host
        if client is not None:
            address, port = split_client(client)
            source: dict[str, Any] = {"address": address}  # ecs.set_endpoint, inlined
            event["source"] = source
            ip = ecs.as_ip(address)
            if ip is not None:
                source["ip"] = ip
                event["related"] = {"ip": [ip]}
            if port is not None:
                source["port"] = port
        if duration:
            event["event"]["duration"] = int(duration) * 1_000_000
        if request_headers:
            haproxy["http"]["request"]["captured_headers"] = _headers(request_headers)
        if response_headers:
            haproxy["http"]["response"]["captured_headers"] = _headers(response_headers)
        if destination:
            dest_address, dest_port = split_client(destination)
            ip = ecs.as_ip(dest_address)
            if ip is not None:
                event["destination"] = {"ip": ip}
                ecs.add_ip(event, ip)
            else:
                event["destination"] = {"address": dest_address}
            if dest_port is not None:
                event["destination"]["port"] = dest_port
            ecs.web_kind(event, ["network", "web"], ["connection"])
        if status:
            http = event["http"]
            http["response"]["bytes"] = haproxy["bytes_read"]
            ev = event["event"]
            ev["outcome"] = "failure" if int(status) >= 400 else "success"  # ecs.outcome, inlined
            ev["category"] = ["web"]
            method, target, version = _request_line(request_line or "")
            if method and target:
                http["request"] = {"method": method}
                if version:
                    http["version"] = version[5:]
                ecs.set_url(event, target)


@lru_cache(maxsize=4096)  # request lines repeat (the same pages, the same health checks)
def _request_line(line: str) -> tuple[str, str, str]:
    """(method, target, ``HTTP/x.y`` version or ``""``) of a captured request line."""
    method, _, rest = line.partition(" ")
    target, _, version = rest.rpartition(" ")
    if not version.startswith("HTTP/"):
        target, version = rest, ""
    return method, target, version


def _connections(active: str | None, frontend: str | None, backend: str | None, server: str | None,
                 retries: str | None) -> dict[str, int]:
    # The five counters HAPROXY_CONNECTIONS always captures (INT groups: never empty).
    return {"active": int(active or 0), "frontend": int(frontend or 0), "backend": int(backend or 0),
            "server": int(server or 0), "retries": int(retries or 0)}


# Capture paths of each HAPROXY_LINE layout, in the order build_groups reads them.
_HEAD: Final = ("_syslog_time", "_host", "process.name", "process.pid")
_HTTP: Final = (
    "_client", "_request_date", "haproxy.frontend_name", "haproxy.backend_name", "haproxy.server_name",
    "haproxy.http.request.time_wait_ms", "haproxy.total_waiting_time_ms", "haproxy.connection_wait_time_ms",
    "haproxy.http.request.time_wait_without_data_ms", "_duration", "http.response.status_code",
    "haproxy.bytes_read", "haproxy.http.request.captured_cookie", "haproxy.http.response.captured_cookie",
    "haproxy.termination_state", "haproxy.connections.active", "haproxy.connections.frontend",
    "haproxy.connections.backend", "haproxy.connections.server", "haproxy.connections.retries",
    "haproxy.server_queue", "haproxy.backend_queue", "_request_headers", "_response_headers",
    "haproxy.http.request.raw_request_line",
)
_TCP: Final = (
    "_client", "_request_date", "haproxy.frontend_name", "haproxy.backend_name", "haproxy.server_name",
    "haproxy.total_waiting_time_ms", "haproxy.connection_wait_time_ms", "_duration", "haproxy.bytes_read",
    "haproxy.termination_state", "haproxy.connections.active", "haproxy.connections.frontend",
    "haproxy.connections.backend", "haproxy.connections.server", "haproxy.connections.retries",
    "haproxy.server_queue", "haproxy.backend_queue",
)
_CONNECT: Final = ("_client", "_destination", "haproxy.frontend_name", "haproxy.mode")
_ERROR: Final = ("_client", "_request_date", "haproxy.frontend_name", "haproxy.bind_name", "haproxy.error_message")
