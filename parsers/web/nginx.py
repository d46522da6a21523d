"""nginx parsers: ``nginx.access``, ``nginx.ingress_controller`` and ``nginx.error``.

Mapped as Elastic's Filebeat ``nginx`` module and ``nginx`` integration do. When the
client field holds a proxy chain (``X-Forwarded-For`` style), the list is kept in
``nginx.access.remote_ip_list`` and ``source.address`` is its first public address (else
its first entry), as Elastic's pipeline script chooses it.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, ClassVar, Final

from parsers.base import MultilineFramer
from parsers.web import ecs
from parsers.web.apache import set_request, split_client
from parsers.web.common import GrokWebParser, set_timezone
from parsers.web.modsec_message import apply_modsec_message
from parsers.web.timestamps import http_date, slash_date
from soc_core.event import Event, RawEvent

_LIST_SEPARATOR: Final = re.compile(r'"?,?\s+"?')
# The request context nginx appends to error messages (ngx_http_log_error_handler):
# ", client: ADDR, server: NAME, request: \"...\", upstream: ..., host: \"...\"".
_CONTEXT: Final = re.compile(
    r', client: (?P<client>[^,\s]+), server: (?P<server>[^,]*)(?:, request: "(?P<request>(?:[^"\\]|\\.)*)")?'
)
_HOST: Final = re.compile(r', host: "(?P<host>[^"]*)"')
_REFERRER: Final = re.compile(r', referrer: "(?P<referrer>[^"]*)"')


def apply_error_context(event: Event, message: str) -> None:
    """``source``, ``http``/``url`` and ``destination.domain`` from nginx's error context."""
    context = _CONTEXT.search(message)
    if context is None:
        return
    ecs.set_endpoint(event, "source", context.group("client"))
    request = context.group("request")
    if request:
        method, _, rest = request.partition(" ")
        target, _, version = rest.rpartition(" ")
        if method and target and version.startswith("HTTP/"):
            http: dict[str, Any] = event.setdefault("http", {})
            http.setdefault("request", {})["method"] = method
            http["version"] = version[5:]
            ecs.set_url(event, target)
    host = _HOST.search(message)
    name = host.group("host").rsplit(":", 1)[0] if host else context.group("server")
    if name:
        event.setdefault("destination", {})["domain"] = name
        event.setdefault("url", {})["domain"] = name
    referrer = _REFERRER.search(message)
    if referrer:
        event.setdefault("http", {}).setdefault("request", {})["referrer"] = referrer.group("referrer")


def pick_client(addresses: list[str]) -> str:
    """The first public address of a proxy chain, else its first entry."""
    for address in addresses:
        if ecs.as_ip(address) is not None and not ecs.is_private(address):
            return address
    return addresses[0]


class NginxAccessParser(GrokWebParser):
    """nginx ``access.log`` lines in the ``combined`` format (optionally ``$host`` first)."""

    id = "nginx.access"
    pattern_name = "NGINX_ACCESS_LINE"
    vendor_key: ClassVar[str] = "access"
    # Shared with apache.access (same "combined" layout): accepts() settles proxy chains.
    route_signals: ClassVar[tuple[str, ...]] = ('] "GET ', '] "POST ', '] "HEAD ', '] "-" ', ' HTTP/1.1" ', '] "" ')

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return '"' in text and "[" in text and not (len(text) > 8 and text[4] == "/" and text[7] == "/")

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        tz = self.options.tz
        self.set_time(event, http_date(fields.pop("_time"), tz))
        set_timezone(event, tz)
        ip_list = fields.pop("_ip_list", None)
        dest_host = fields.pop("_dest_host", None)
        if dest_host:
            fields["destination.ip" if ecs.as_ip(dest_host) else "destination.domain"] = dest_host
        set_request(event, fields)
        agent = fields.pop("user_agent.original", None)
        self.apply(event, fields)
        if ip_list:
            addresses = [a for a in _LIST_SEPARATOR.split(ip_list.strip('"')) if a]
            event.setdefault("nginx", {})[self.vendor_key] = {"remote_ip_list": addresses}
            address = pick_client(addresses)
        else:
            address = fields.get("source.address", "")
        ecs.set_endpoint(event, "source", address)
        ecs.add_ip(event, fields.get("destination.ip"))
        domain = fields.get("destination.domain")
        if domain:
            event.setdefault("url", {})["domain"] = domain
        user = fields.get("user.name")
        if user:
            event.setdefault("related", {}).setdefault("user", []).append(user)
        if agent:
            ecs.set_user_agent(event, agent)
        event["event"]["outcome"] = ecs.outcome(fields["http.response.status_code"])
        ecs.web_kind(event, ["web"], ["access"])


def _split_list(text: str | None) -> list[str]:
    return [] if not text else [item.strip() for item in re.split(r",| : ", text) if item.strip()]


class NginxIngressParser(NginxAccessParser):
    """Kubernetes ingress-nginx ``upstreaminfo`` access lines (``nginx.ingress_controller``)."""

    id = "nginx.ingress_controller"
    pattern_name = "NGINX_INGRESS_LINE"
    vendor_key = "ingress_controller"
    route_signals: ClassVar[tuple[str, ...]] = ()  # same signals as nginx.access: chosen by name only

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        alternative = fields.pop("_alternative", "")
        upstreams = _split_list(fields.pop("_upstreams", None))
        lengths = _split_list(fields.pop("_lengths", None))
        times = _split_list(fields.pop("_times", None))
        statuses = _split_list(fields.pop("_statuses", None))
        super().build(event, fields)
        ingress: dict[str, Any] = event.setdefault("nginx", {}).setdefault("ingress_controller", {})
        upstream: dict[str, Any] = ingress.setdefault("upstream", {})
        upstream["alternative_name"] = alternative
        if upstreams:
            ingress["upstream_address_list"] = upstreams
            # As Elastic's pipeline: the last upstream tried is the one that answered.
            address, port = split_client(upstreams[-1])
            upstream["ip"] = address
            if port is not None:
                upstream["port"] = port
        response: dict[str, Any] = upstream.setdefault("response", {})
        for key, values, cast in (("length", lengths, int), ("time", times, float), ("status_code", statuses, int)):
            if values:
                response[f"{key}_list"] = values
                with contextlib.suppress(ValueError):  # "-": an upstream that never answered
                    response[key] = cast(values[-1])
        event["http"].setdefault("request", {})["id"] = fields["http.request.id"]
        event["event"]["type"] = ["info"]


class NginxErrorParser(GrokWebParser):
    """nginx ``error.log`` entries; continuation lines belong to the entry above."""

    id = "nginx.error"
    pattern_name = "NGINX_ERROR_LINE"
    framer = MultilineFramer(r"\d{4}/\d{2}/\d{2} ")
    route_signals: ClassVar[tuple[str, ...]] = (
        "[emerg] ", "[alert] ", "[crit] ", "[error] ", "[warn] ", "[notice] ", "[info] ", "[debug] ",
    )

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return len(text) > 20 and text[4] == "/" and text[7] == "/"

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        tz = self.options.tz
        self.set_time(event, slash_date(fields.pop("_time"), tz))
        set_timezone(event, tz)
        self.apply(event, fields)
        message = fields.get("message", "")
        if "\n" in message:
            event.setdefault("log", {})["flags"] = ["multiline"]
        ecs.web_kind(event, ["web"], ["error"])
        if "ModSecurity" in message:
            apply_modsec_message(event, message)
        if ", client: " in message:  # a substring test spares most lines the regexes below
            apply_error_context(event, message)
