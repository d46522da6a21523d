"""Apache HTTP Server parsers: ``apache.access`` and ``apache.error`` (with ModSecurity lines).

Mapped as Elastic's Filebeat ``apache`` module and the ``apache`` integration do:
access lines give ``source.*``, ``http.*``, ``url.*``, ``user_agent.*`` and TLS details of
the mod_ssl request log; error lines give ``log.level``, ``process.*``, the client and,
for ModSecurity/OWASP CRS messages, ``rule.*`` (see :mod:`parsers.web.modsec_message`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from parsers.web import ecs
from parsers.web.common import GrokWebParser, set_timezone
from parsers.web.modsec_message import apply_modsec_message
from parsers.web.timestamps import ctime_date, http_date
from soc_core.event import Event, RawEvent

# Levels Elastic's apache pipelines map to event.type "error"; the rest are "info".
ERROR_LEVELS: Final = frozenset({"emerg", "alert", "crit", "error", "warn"})


def set_request(event: Event, fields: dict[str, Any]) -> None:
    """``url.*`` from the request target of a parsed request line."""
    target = fields.pop("_url", None)
    fields.pop("_request", None)
    if target:
        ecs.set_url(event, target)


class ApacheAccessParser(GrokWebParser):
    """Apache ``access_log`` lines (common, combined, vhost_combined, mod_ssl request log)."""

    id = "apache.access"
    pattern_name = "APACHE_ACCESS_LINE"
    route_signals: ClassVar[tuple[str, ...]] = (
        '] "GET ', '] "POST ', '] "HEAD ', '] "-" ', ' HTTP/1.0" ', ' HTTP/1.1" ', ' HTTP/2.0" ',
    )

    def accepts(self, raw: RawEvent) -> bool:
        # A proxy chain ("a, b, c - - [") before the date is nginx's layout, not Apache's.
        text = raw.message
        head = text.split(" - ", 1)[0]
        return '"' in text and "[" in text and ", " not in head

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        self.set_time(event, http_date(fields.pop("_time"), self.options.tz))
        client = fields.pop("_client")
        protocol = fields.pop("_ssl_protocol", None)
        cipher = fields.pop("_ssl_cipher", None)
        set_request(event, fields)
        agent = fields.pop("user_agent.original", None)
        self.apply(event, fields)
        if ecs.set_endpoint(event, "source", client) is None and client != "-":
            event["source"]["domain"] = client
        domain = fields.get("destination.domain")
        if domain:
            event.setdefault("url", {})["domain"] = domain
        if protocol:
            event.setdefault("apache", {}).setdefault("access", {})["ssl"] = {"protocol": protocol, "cipher": cipher}
            ecs.tls_from_protocol(event, protocol, cipher)
        if agent:
            ecs.set_user_agent(event, agent)
        status = fields.get("http.response.status_code")
        if status is not None:
            event["event"]["outcome"] = ecs.outcome(status)
        ecs.web_kind(event, ["web"], ["access"])


def split_client(text: str) -> tuple[str, int | None]:
    """``1.2.3.4:5678``, ``::1:37752`` or a bare address into (address, port)."""
    if ecs.as_ip(text) is not None:
        return text, None
    host, sep, port = text.rpartition(":")
    if sep and port.isdecimal() and host:
        return host.strip("[]"), int(port)
    return text, None


def set_client(event: Event, text: str) -> None:
    """``source.address``/``ip``/``port`` from a ``[client ...]`` or ``client:`` value."""
    address, port = split_client(text)
    ecs.set_endpoint(event, "source", address)
    if port is not None:
        event["source"]["port"] = port


class ApacheErrorParser(GrokWebParser):
    """Apache ``error_log`` lines, 2.2 and 2.4 layouts."""

    id = "apache.error"
    pattern_name = "APACHE_ERROR_LINE"
    route_signals: ClassVar[tuple[str, ...]] = (
        "] [pid ", "[error] [client ", "] [error] ", "] [notice] ", "] [warn] ", "] [crit] ", "] [alert] ",
    )

    def accepts(self, raw: RawEvent) -> bool:
        return raw.message.startswith("[")

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        tz = self.options.tz
        when = fields.pop("_time", None)
        if when is not None:  # else @timestamp stays the time of reception
            self.set_time(event, ctime_date(when, tz))
            set_timezone(event, tz)
        client = fields.pop("_client", None)
        self.apply(event, fields)
        if client:
            set_client(event, client)
        level = str(fields.get("log.level", "")).lower()
        ecs.web_kind(event, ["web"], ["error" if level in ERROR_LEVELS else "info"])
        message = fields.get("message", "")
        if "ModSecurity" in message:
            apply_modsec_message(event, message)
