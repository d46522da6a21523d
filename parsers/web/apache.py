"""Apache HTTP Server parsers: ``apache.access`` and ``apache.error`` (with ModSecurity lines).

Mapped as Elastic's Filebeat ``apache`` module and the ``apache`` integration do:
access lines give ``source.*``, ``http.*``, ``url.*``, ``user_agent.*`` and TLS details of
the mod_ssl request log; error lines give ``log.level``, ``process.*``, the client and,
for ModSecurity/OWASP CRS messages, ``rule.*`` (see :mod:`parsers.web.modsec_message`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from parsers.base import ParserOptions
from parsers.web import ecs
from parsers.web.common import GrokWebParser, Groups, capture_groups, ctime_stamp, http_stamp, layout_reader
from parsers.web.modsec_message import apply_modsec_message
from soc_core.event import Event, RawEvent

# Levels Elastic's apache pipelines map to event.type "error"; the rest are "info".
ERROR_LEVELS: Final = frozenset({"emerg", "alert", "crit", "error", "warn"})


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
        # nginx logs a client on a UNIX socket as "unix:"; Apache has no such client.
        return '"' in text and "[" in text and ", " not in head and not head.startswith("unix:")

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        pattern = self._pattern
        times = capture_groups(pattern)["_time"]  # one per layout: combined, then mod_ssl
        self._combined = layout_reader(pattern, _COMBINED, end=times[1])
        self._ssl = layout_reader(pattern, _SSL, start=times[1])
        self._combined_time = times[0]

    def build_groups(self, event: Event, groups: Groups) -> None:
        """Write the ECS objects of one access line (empty captures count as absent).

        The groups of whichever layout matched are read by position and the nested
        objects written directly, in the key order the generic ``apply`` of the captures
        dict gave them: this runs for every line, and a captures dict, dotted-path
        setters and ``setdefault`` chains cost more than the regex match itself.
        """
        status: int | None = None
        port: int | None = None
        if groups[self._combined_time] is not None:
            domain, port_text, client, user, time, method, target, version, status_text, size_text, referrer, agent = (
                self._combined(groups))
            protocol = cipher = None
            if port_text:
                port = int(port_text)
            if status_text:
                status = int(status_text)
        else:
            time, client, protocol, cipher, method, target, version, size_text = self._ssl(groups)
            domain = user = referrer = agent = None
        size = int(size_text) if size_text else None
        client = client or ""
        event["@timestamp"] = http_stamp(time or "", self.options.tz)
        if target:
            event["url"] = ecs.url_fields(target)
        if domain:
            destination: dict[str, Any] = {"domain": domain}
            if port is not None:
                destination["port"] = port
            event["destination"] = destination
        elif port is not None:  # the pattern only allows a port after a host
            event["destination"] = {"port": port}
        if user:
            event["user"] = {"name": user}
        http = http_object(method, version, status, size, referrer)
        if http:
            event["http"] = http
        ip = ecs.as_ip(client)
        if ip is not None:
            event["source"] = {"address": client, "ip": ip}
            event["related"] = {"ip": [ip]}
        elif client != "-":
            event["source"] = {"address": client, "domain": client}
        else:
            event["source"] = {"address": client}
        if domain:
            event.setdefault("url", {})["domain"] = domain
        if protocol:
            event["apache"] = {"access": {"ssl": {"protocol": protocol, "cipher": cipher}}}
            ecs.tls_from_protocol(event, protocol, cipher)
        if agent:
            event["user_agent"] = ecs.user_agent(agent)
        ev = event["event"]
        if status is not None:
            ev["outcome"] = "failure" if status >= 400 else "success"  # ecs.outcome, inlined
        ev["category"] = ["web"]
        ev["type"] = ["access"]


# Capture paths of the two APACHE_ACCESS_LINE layouts, in the order build_groups reads them.
_COMBINED: Final = (
    "destination.domain", "destination.port", "_client", "user.name", "_time", "http.request.method", "_url",
    "http.version", "http.response.status_code", "http.response.body.bytes", "http.request.referrer",
    "user_agent.original",
)
_SSL: Final = (
    "_time", "_client", "_ssl_protocol", "_ssl_cipher", "http.request.method", "_url", "http.version",
    "http.response.body.bytes",
)


def http_object(method: str | None, version: str | None, status: int | None, size: int | None,
                referrer: str | None) -> dict[str, Any]:
    """The ``http`` object of an access line (empty when nothing is set), keys in the
    order the captures come in the combined layout."""
    if method and version and status is not None:  # a full request line: dict displays only
        answer: dict[str, Any] = {"status_code": status} if size is None else {"status_code": status,
                                                                              "body": {"bytes": size}}
        return {"request": {"method": method, "referrer": referrer} if referrer else {"method": method},
                "version": version, "response": answer}
    http: dict[str, Any] = {}
    request: dict[str, Any] = {}
    if method:
        request["method"] = method
        http["request"] = request
    if version:
        http["version"] = version
    if status is not None:
        response: dict[str, Any] = {"status_code": status}
        if size is not None:
            response["body"] = {"bytes": size}
        http["response"] = response
    elif size is not None:
        http["response"] = {"body": {"bytes": size}}
    if referrer:
        request["referrer"] = referrer
        if "request" not in http:
            http["request"] = request
    return http


def split_client(text: str) -> tuple[str, int | None]:
    """``1.2.3.4:5678``, ``::1:37752`` or a bare address into (address, port)."""
    # One colon and no IPv6 zone: never a bare IP (IPv6 needs two colons), so skip the
    # address check, which costs most when it fails and would fill its cache with ports.
    if ("%" in text or text.count(":") != 1) and ecs.as_ip(text) is not None:
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

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        self._read = layout_reader(self._pattern, _ERROR)

    def build_groups(self, event: Event, groups: Groups) -> None:
        # Objects written directly from the groups, keys in the order the generic
        # ``apply`` of the captures dict gave them: this runs for every line.
        time, module, level, pid, tid, client, message, path, referrer = self._read(groups)
        if time:  # else @timestamp stays the time of reception (ErrorLog syslog)
            event["@timestamp"] = ctime_stamp(time, self.options.tz)
            if self._zone:  # event.timezone, its text worked out once (__init__)
                event["event"]["timezone"] = self._zone
        if module:
            event["apache"] = {"error": {"module": module}}
        if level:
            log = event.get("log")
            if log is None:
                log = event["log"] = {}
            log["level"] = level
        if pid:
            process: dict[str, Any] = {"pid": int(pid)}
            if tid:
                process["thread"] = {"id": int(tid)}
            event["process"] = process
        elif tid:
            event["process"] = {"thread": {"id": int(tid)}}
        if message:
            event["message"] = message
        if path:
            event["file"] = {"path": path}
        if referrer:
            event["http"] = {"request": {"referrer": referrer}}
        if client:
            set_client(event, client)
        ev = event["event"]
        ev["category"] = ["web"]
        ev["type"] = ["error" if level and level.lower() in ERROR_LEVELS else "info"]
        if message and "ModSecurity" in message:
            apply_modsec_message(event, message)


# Capture paths of APACHE_ERROR_LINE, in the order build_groups reads them.
_ERROR: Final = (
    "_time", "apache.error.module", "log.level", "process.pid", "process.thread.id", "_client", "message",
    "file.path", "http.request.referrer",
)
