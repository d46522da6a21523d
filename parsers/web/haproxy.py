"""HAProxy parser: ``haproxy.log`` (syslog lines in the HTTP, TCP, connect and error layouts).

Other messages of the program (server state changes, start-up) keep their text in
``message``. Mapped as Elastic's Filebeat ``haproxy`` module does: timers and counters into
``haproxy.*``, the total time ``Tt`` (ms) into ``event.duration`` (ns), the client into
``source.*``, the request line into ``http.*``/``url.*``. The request date HAProxy writes
(with its year) gives ``@timestamp``; the year-less syslog date is the fallback.
"""

from __future__ import annotations

from typing import Any, ClassVar

from parsers.web import ecs
from parsers.web.apache import split_client
from parsers.web.common import GrokWebParser, set_timezone
from parsers.web.timestamps import http_date, syslog_date
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

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        tz = self.options.tz
        request_date = fields.pop("_request_date", None)
        syslog_time = fields.pop("_syslog_time")
        if request_date:
            self.set_time(event, http_date(request_date, tz))
        else:
            self.set_time(event, syslog_date(syslog_time, tz, self.options.clock))
        set_timezone(event, tz)
        host = fields.pop("_host")
        client = fields.pop("_client", None)
        destination = fields.pop("_destination", None)
        duration = fields.pop("_duration", None)
        request_headers = _headers(fields.pop("_request_headers", None))
        response_headers = _headers(fields.pop("_response_headers", None))
        self.apply(event, fields)
        haproxy: dict[str, Any] = event.setdefault("haproxy", {})
        if ecs.as_ip(host) is not None:
            haproxy["source"] = host
        if client is not None:
            address, port = split_client(client)
            ecs.set_endpoint(event, "source", address)
            if port is not None:
                event["source"]["port"] = port
        if duration is not None:
            event["event"]["duration"] = duration * 1_000_000
        if request_headers is not None:
            haproxy.setdefault("http", {}).setdefault("request", {})["captured_headers"] = request_headers
        if response_headers is not None:
            haproxy.setdefault("http", {}).setdefault("response", {})["captured_headers"] = response_headers
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
        status = fields.get("http.response.status_code")
        if status is not None:
            event["http"].setdefault("response", {})["bytes"] = fields["haproxy.bytes_read"]
            event["event"]["outcome"] = ecs.outcome(status)
            ecs.web_kind(event, ["web"])
            self._request_line(event, fields.get("haproxy.http.request.raw_request_line", ""))

    @staticmethod
    def _request_line(event: Event, line: str) -> None:
        method, _, rest = line.partition(" ")
        target, _, version = rest.rpartition(" ")
        if not version.startswith("HTTP/"):
            target, version = rest, ""
        if method and target:
            event["http"].setdefault("request", {})["method"] = method
            if version:
                event["http"]["version"] = version[5:]
            ecs.set_url(event, target)
