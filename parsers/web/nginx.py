"""nginx parsers: ``nginx.access``, ``nginx.ingress_controller`` and ``nginx.error``.

Mapped as Elastic's Filebeat ``nginx`` module and ``nginx`` integration do. When the
client field holds a proxy chain (``X-Forwarded-For`` style), the list is kept in
``nginx.access.remote_ip_list`` and ``source.address`` is its first public address (else
its first entry), as Elastic's pipeline script chooses it.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from typing import Any, ClassVar, Final

from parsers.base import MultilineFramer, ParserOptions
from parsers.web import ecs
from parsers.web.apache import http_object, split_client
from parsers.web.common import (
    GrokWebParser,
    Groups,
    capture_groups,
    http_stamp,
    layout_reader,
    slash_stamp,
)
from parsers.web.modsec_message import apply_modsec_message
from soc_core.event import Event, RawEvent

_LIST_SEPARATOR: Final = re.compile(r'"?,?\s+"?')
# The request context nginx appends to error messages (ngx_http_log_error_handler):
# ", client: ADDR, server: NAME, request: \"...\", upstream: ..., host: \"...\"".
# The request is written as an unrolled loop (runs of plain characters, then one escape):
# the same matches as (?:[^"\\]|\\.)*, without one alternation per character (3x faster).
_CONTEXT: Final = re.compile(
    r', client: (?P<client>[^,\s]+), server: (?P<server>[^,]*)(?:, request: "(?P<request>[^"\\]*(?:\\.[^"\\]*)*)")?'
)
_HOST: Final = re.compile(r', host: "(?P<host>[^"]*)"')
_REFERRER: Final = re.compile(r', referrer: "(?P<referrer>[^"]*)"')
# Whichever of the two comes first: one scan of the message finds it, and the other is
# then looked for only after it (neither can start where the other does).
_HOST_OR_REFERRER: Final = re.compile(r', (?:host: "(?P<host>[^"]*)"|referrer: "(?P<referrer>[^"]*)")')
# The first of the three context keys: no match of _CONTEXT, _HOST or _REFERRER starts
# before it, so the searches for them start there instead of rescanning the message.
_CONTEXT_KEY: Final = re.compile(r", (?:client|host|referrer): ")


def apply_error_context(event: Event, message: str) -> None:
    """``source``, ``http``/``url`` and ``destination.domain`` from nginx's error context."""
    key = _CONTEXT_KEY.search(message)
    if key is None:  # no ", client: ": most lines stop here
        return
    start = key.start()
    # The first ", client: " is where _CONTEXT.search would start matching.
    at = start if message.startswith(", client: ", start) else message.find(", client: ", start)
    if at == -1:
        return
    context = _CONTEXT.match(message, at) or _CONTEXT.search(message, at + 1)
    if context is None:
        return
    client, server, request = context.groups()
    ecs.set_endpoint(event, "source", client)  # (a ModSecurity message sets url.*, not source.*)
    if request:
        method, _, rest = request.partition(" ")
        target, _, version = rest.rpartition(" ")
        if method and target and version.startswith("HTTP/"):
            http = event.get("http")
            if http is None:
                event["http"] = {"request": {"method": method}, "version": version[5:]}
            else:
                http.setdefault("request", {})["method"] = method
                http["version"] = version[5:]
            ecs.set_url(event, target)
    host = referrer = None
    first = _HOST_OR_REFERRER.search(message, start)
    if first is not None:
        if first.group("host") is not None:
            host, referrer = first, _REFERRER.search(message, first.start() + 1)
        else:
            host, referrer = _HOST.search(message, first.start() + 1), first
    name = host.group("host").rsplit(":", 1)[0] if host else server
    if name:
        destination = event.get("destination")
        if destination is None:
            event["destination"] = {"domain": name}
        else:
            destination["domain"] = name
        event.setdefault("url", {})["domain"] = name
    if referrer:
        event.setdefault("http", {}).setdefault("request", {})["referrer"] = referrer.group("referrer")


def pick_client(addresses: list[str]) -> str:
    """The first public address of a proxy chain, else its first entry."""
    for address in addresses:
        if ecs.as_ip(address) is not None and not ecs.is_private(address):
            return address
    return addresses[0]


@lru_cache(maxsize=4096)  # clients (and their proxy chains) come back request after request
def _proxy_chain(text: str) -> tuple[tuple[str, ...], str]:
    """The addresses of a captured client list and the one ``source.address`` takes."""
    addresses = [a for a in _LIST_SEPARATOR.split(text.strip('"')) if a]
    return tuple(addresses), pick_client(addresses)


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

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        self._read = layout_reader(self._pattern, _ACCESS)
        self._other_host = capture_groups(self._pattern)["_dest_host"][1]

    def build_groups(self, event: Event, groups: Groups) -> None:
        # Read the groups by position (one layout): no captures dict on the hot path.
        (host, port, ip_list, address, user, time, method, target, version, status, size, referrer,
         agent) = self._read(groups)
        self.fill(event, time or "", host or groups[self._other_host], int(port) if port else None, ip_list,
                  address, user, method, target, version, int(status or 0), int(size) if size else None,
                  referrer, agent)

    def fill(self, event: Event, time: str, host: str | None, port: int | None, ip_list: str | None,
             address: str | None, user: str | None, method: str | None, target: str | None,
             version: str | None, status: int, size: int | None, referrer: str | None,
             agent: str | None, vendor: dict[str, Any] | None = None) -> None:
        """Write the ECS objects of one access line (empty texts count as absent).

        Objects are built directly, keys in the order the generic ``apply`` gave them
        (the ``$host`` capture came last), as :meth:`ApacheAccessParser.fill` does.
        ``vendor`` is the ``nginx`` object of the layout's own captures (ingress).
        """
        event["@timestamp"] = http_stamp(time, self.options.tz)
        ev = event["event"]
        if self._zone:
            ev["timezone"] = self._zone
        if target:
            event["url"] = ecs.url_fields(target)
        dest_ip = dest_domain = None
        if host:
            if ecs.as_ip(host):
                dest_ip = host
            else:
                dest_domain = host
        destination: dict[str, Any] | None = None
        if port is not None:
            destination = event["destination"] = {"port": port}
        source: dict[str, Any] = {}
        if address:
            source = event["source"] = {"address": address}
        if user:
            event["user"] = {"name": user}
        event["http"] = http_object(method, version, status, size, referrer)
        if vendor:
            event["nginx"] = vendor
        if host:
            if destination is None:
                destination = event["destination"] = {}
            if dest_ip:
                destination["ip"] = dest_ip
            else:
                destination["domain"] = dest_domain
        if ip_list:
            chain, address = _proxy_chain(ip_list)
            # Merged into the vendor object, which may already hold the ingress fields.
            event.setdefault("nginx", {}).setdefault(self.vendor_key, {})["remote_ip_list"] = list(chain)
        elif not address:
            address = ""
        if not source:
            source = event["source"] = {}
        source["address"] = address
        related: list[str] = []
        ip = ecs.as_ip(address)
        if ip is not None:
            source["ip"] = ip
            related.append(ip)
        if dest_ip:
            related.append(dest_ip)
        if related:
            event["related"] = {"ip": related}
        if dest_domain:
            event.setdefault("url", {})["domain"] = dest_domain
        if user:
            event.setdefault("related", {})["user"] = [user]
        if agent:
            event["user_agent"] = ecs.user_agent(agent)
        ev["outcome"] = "failure" if status >= 400 else "success"  # ecs.outcome, inlined
        ev["category"] = ["web"]
        ev["type"] = ["access"]


# Capture paths of NGINX_ERROR_LINE and NGINX_ACCESS_LINE, in the order build_groups reads them.
_ERROR: Final = ("_time", "log.level", "process.pid", "process.thread.id", "nginx.error.connection_id", "message")
_INGRESS: Final = (
    "nginx.ingress_controller.http.request.length", "nginx.ingress_controller.http.request.time",
    "nginx.ingress_controller.upstream.name", "_alternative", "_upstreams", "_lengths", "_times", "_statuses",
    "http.request.id",
)
_ACCESS: Final = (
    "_dest_host", "destination.port", "_ip_list", "source.address", "user.name", "_time", "http.request.method",
    "_url", "http.version", "http.response.status_code", "http.response.body.bytes", "http.request.referrer",
    "user_agent.original",
)


_LIST_ITEMS: Final = re.compile(r",| : ")


def _split_list(text: str | None) -> list[str]:
    if not text:
        return []
    if "," not in text and " : " not in text:  # one upstream, the usual case: no regex
        item = text.strip()
        return [item] if item else []
    return [item.strip() for item in _LIST_ITEMS.split(text) if item.strip()]


class NginxIngressParser(NginxAccessParser):
    """Kubernetes ingress-nginx ``upstreaminfo`` access lines (``nginx.ingress_controller``)."""

    id = "nginx.ingress_controller"
    pattern_name = "NGINX_INGRESS_LINE"
    vendor_key = "ingress_controller"
    route_signals: ClassVar[tuple[str, ...]] = ()  # same signals as nginx.access: chosen by name only

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        self._read_ingress = layout_reader(self._pattern, _ACCESS + _INGRESS)

    def build_groups(self, event: Event, groups: Groups) -> None:
        (host, port, ip_list, address, user, time, method, target, version, status, size, referrer, agent,
         length, duration, name, alternative, upstreams, lengths, times, statuses, request_id) = (
            self._read_ingress(groups))
        # The ingress captures, nested as the generic ``apply`` nested them.
        vendor: dict[str, Any] = {}
        request: dict[str, Any] = {}
        if length:
            request["length"] = int(length)
        if duration:
            request["time"] = float(duration)
        if request:
            vendor["http"] = {"request": request}
        if name:
            vendor["upstream"] = {"name": name}
        self.fill(event, time or "", host or groups[self._other_host], int(port) if port else None, ip_list,
                  address, user, method, target, version, int(status or 0), int(size) if size else None,
                  referrer, agent, {"ingress_controller": vendor} if vendor else None)
        if request_id:  # where ``apply`` put it: after the other http.request fields
            event["http"].setdefault("request", {})["id"] = request_id
        self._upstreams(event, alternative or "", _split_list(upstreams), _split_list(lengths),
                        _split_list(times), _split_list(statuses))
        event["event"]["type"] = ["info"]

    @staticmethod
    def _upstreams(event: Event, alternative: str, upstreams: list[str], lengths: list[str], times: list[str],
                   statuses: list[str]) -> None:
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

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        self._read = layout_reader(self._pattern, _ERROR)

    def build_groups(self, event: Event, groups: Groups) -> None:
        # Objects written directly from the groups, keys in the order the generic
        # ``apply`` of the captures dict gave them: this runs for every line.
        time, level, pid, tid, connection, message = self._read(groups)
        event["@timestamp"] = slash_stamp(time or "", self.options.tz)
        ev = event["event"]
        if self._zone:  # event.timezone, its text worked out once (__init__)
            ev["timezone"] = self._zone
        if level:
            log = event.get("log")
            if log is None:
                log = event["log"] = {}
            log["level"] = level
        process: dict[str, Any] = {"pid": int(pid)} if pid else {}
        if tid:
            process["thread"] = {"id": int(tid)}
        if process:
            event["process"] = process
        if connection:
            event["nginx"] = {"error": {"connection_id": int(connection)}}
        if message:
            event["message"] = message
        else:
            message = ""
        if "\n" in message:
            event.setdefault("log", {})["flags"] = ["multiline"]
        ev["category"] = ["web"]
        ev["type"] = ["error"]
        if "ModSecurity" in message:
            apply_modsec_message(event, message)
        apply_error_context(event, message)
