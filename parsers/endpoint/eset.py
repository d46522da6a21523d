"""ESET PROTECT events exported through syslog in JSON (``eset_protect.event``).

Format (ESET PROTECT help, "Export events to Syslog" / "Syslog server" and the
"Exported events format" reference): a syslog header (RFC 5424 from ESET PROTECT,
RFC 3164 from relays), then one JSON object whose ``event_type`` is one of
``Threat_Event``, ``FirewallAggregated_Event``, ``HipsAggregated_Event``,
``Audit_Event``, ``BlockedFiles_Event`` or ``EnterpriseInspectorAlert_Event``. Common
members: ``hostname``, ``ipv4``/``ipv6``, ``source_uuid``, ``occured`` (UTC,
``dd-MMM-yyyy HH:mm:ss``), ``severity``. The dataset is named after Elastic's
ESET PROTECT ``event`` data stream; the JSON stays under ``eset_protect.event``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import unquote, urlsplit

import orjson

from parsers.base import BaseParser
from parsers.endpoint.common import put_number, put_text, related
from parsers.syslog import apply_header, split_syslog
from parsers.windows.fields import basename
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp, set_field

# event_type -> (category, type, kind).
EVENT_TYPES: Final[dict[str, tuple[list[str], list[str], str]]] = {
    "Threat_Event": (["malware"], ["info"], "alert"),
    "FirewallAggregated_Event": (["network"], ["connection", "denied"], "alert"),
    "HipsAggregated_Event": (["intrusion_detection"], ["info"], "alert"),
    "Audit_Event": (["configuration"], ["change"], "event"),
    "BlockedFiles_Event": (["malware", "file"], ["denied"], "alert"),
    "EnterpriseInspectorAlert_Event": (["intrusion_detection"], ["info"], "alert"),
}
LEVELS: Final = {"information": "info", "informational": "info", "warning": "warning", "error": "error",
                 "critical": "critical", "fatal": "critical", "debug": "debug"}


def _occurred(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return format_timestamp(datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S").replace(tzinfo=UTC))
    except ValueError:
        return None


def _file_and_actor(event: Event, doc: dict[str, Any]) -> None:
    """The scanned file (path, SHA-1) and who and what touched it, shared by threat and
    blocked-file records."""
    _file_from_uri(event, doc.get("object_uri"))
    sha1 = doc.get("hash")
    if isinstance(sha1, str) and sha1:
        set_field(event, "file.hash.sha1", sha1.lower())
        related(event, "hash", sha1.lower())
    _user(event, doc.get("username"))
    _process(event, doc.get("processname"))


def _file_from_uri(event: Event, uri: Any) -> None:
    """``file:///C:/Users/x/eicar.com`` -> ``C:\\Users\\x\\eicar.com``; other URIs -> url.original."""
    if not isinstance(uri, str) or not uri:
        return
    if uri.lower().startswith("file://"):
        path = unquote(urlsplit(uri).path)
        if len(path) > 2 and path[0] == "/" and path[2] == ":":
            path = path[1:].replace("/", "\\")  # a Windows drive path
        set_field(event, "file.path", path)
        set_field(event, "file.name", basename(path))
    elif "://" in uri:
        set_field(event, "url.original", uri)
    else:
        set_field(event, "file.path", uri)
        set_field(event, "file.name", basename(uri))


def _user(event: Event, value: Any) -> None:
    if not isinstance(value, str) or not value:
        return
    domain, sep, name = value.partition("\\")
    if not sep:
        domain, name = "", value
    set_field(event, "user.name", name)
    if domain:
        set_field(event, "user.domain", domain)
    related(event, "user", name)


def _process(event: Event, value: Any) -> None:
    if isinstance(value, str) and value:
        set_field(event, "process.executable", value)
        set_field(event, "process.name", basename(value))


class EsetProtectParser(BaseParser):
    """ESET PROTECT syslog JSON events to ECS."""

    id = "eset_protect.event"
    syslog_programs: ClassVar[tuple[str, ...]] = ("ERAServer", "ESETPROTECT")
    route_signals: ClassVar[tuple[str, ...]] = ('"event_type":"Threat_Event"', '"source_uuid"')
    json_keys: ClassVar[tuple[str, ...]] = ("event_type", "source_uuid")

    def accepts(self, raw: RawEvent) -> bool:
        return b'"event_type"' in raw.data and b'"source_uuid"' in raw.data

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        start = text.find("{")
        if start < 0:
            raise ParseError(self.id, "no JSON object in the message")
        try:
            doc = orjson.loads(text[start:])
        except orjson.JSONDecodeError as exc:
            raise ParseError(self.id, f"invalid JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("event_type"), str):
            raise ParseError(self.id, "JSON object without event_type")
        event = self.new_event(raw)
        if text[:start].strip():
            header = split_syslog(text[:start], self.options.tz, self.options.clock.now())
            if header is not None:
                apply_header(event, header, message=False)
                # The syslog sender is the ESET PROTECT server.
                sender = event.pop("host", {}).get("hostname")
                event.pop("related", None)
                event.pop("process", None)
                if sender:
                    set_field(event, "observer.hostname", sender)
        set_field(event, "observer.vendor", "ESET")
        set_field(event, "observer.product", "ESET PROTECT")
        kind = doc["event_type"]
        ev = event["event"]
        entry = EVENT_TYPES.get(kind)
        if entry:
            ev["category"], ev["type"], ev["kind"] = list(entry[0]), list(entry[1]), entry[2]
        ev["code"] = kind
        occurred = _occurred(doc.get("occured") or doc.get("occurred"))
        if occurred:
            event["@timestamp"] = occurred
        level = LEVELS.get(str(doc.get("severity", "")).lower())
        if level:
            set_field(event, "log.level", level)
        hostname = doc.get("hostname")
        if isinstance(hostname, str) and hostname:
            set_field(event, "host.hostname", hostname)
            set_field(event, "host.name", hostname)
            related(event, "hosts", hostname)
        addresses = [a for a in (doc.get("ipv4"), doc.get("ipv6")) if isinstance(a, str) and a]
        if addresses:
            set_field(event, "host.ip", addresses)
            related(event, "ip", *addresses)
        put_text(event, "host.id", doc.get("source_uuid"))
        handlers = {
            "Threat_Event": self._threat_event, "FirewallAggregated_Event": self._firewallaggregated_event,
            "HipsAggregated_Event": self._hipsaggregated_event, "Audit_Event": self._audit_event,
            "BlockedFiles_Event": self._blockedfiles_event,
            "EnterpriseInspectorAlert_Event": self._enterpriseinspectoralert_event,
        }
        handlers.get(kind, self._other)(event, doc)
        set_field(event, "eset_protect.event", doc)
        return event

    @staticmethod
    def _threat_event(event: Event, doc: dict[str, Any]) -> None:
        put_text(event, "rule.name", doc.get("threat_name"))
        put_text(event, "event.action", doc.get("action_taken"))
        put_text(event, "threat.software.type", doc.get("threat_type"))
        _file_and_actor(event, doc)
        if isinstance(doc.get("threat_handled"), bool):
            event["event"]["outcome"] = "success" if doc["threat_handled"] else "failure"

    @staticmethod
    def _firewallaggregated_event(event: Event, doc: dict[str, Any]) -> None:
        for side, prefix in (("source", "source"), ("destination", "target")):
            address = doc.get(f"{prefix}_address")
            if isinstance(address, str) and address:
                set_field(event, f"{side}.ip", address)
                related(event, "ip", address)
            put_number(event, f"{side}.port", doc.get(f"{prefix}_port"))
        protocol = doc.get("protocol")
        if isinstance(protocol, str) and protocol:
            set_field(event, "network.transport", protocol.lower())
        if isinstance(doc.get("inbound"), bool):
            set_field(event, "network.direction", "ingress" if doc["inbound"] else "egress")
        put_text(event, "rule.name", doc.get("rule_name") or doc.get("event"))
        put_text(event, "rule.id", doc.get("rule_id"))
        put_text(event, "event.action", doc.get("action"))
        _process(event, doc.get("process_name"))
        _user(event, doc.get("account"))

    @staticmethod
    def _hipsaggregated_event(event: Event, doc: dict[str, Any]) -> None:
        _process(event, doc.get("application"))
        put_text(event, "rule.name", doc.get("rule_name"))
        put_text(event, "rule.id", doc.get("rule_id"))
        put_text(event, "event.action", doc.get("action"))
        _user(event, doc.get("account"))

    @staticmethod
    def _audit_event(event: Event, doc: dict[str, Any]) -> None:
        put_text(event, "event.action", doc.get("action"))
        _user(event, doc.get("user"))
        result = doc.get("result")
        if isinstance(result, str) and result:
            event["event"]["outcome"] = "success" if result.lower().startswith("success") else "failure"
        put_text(event, "message", doc.get("detail"))

    @staticmethod
    def _blockedfiles_event(event: Event, doc: dict[str, Any]) -> None:
        put_text(event, "event.action", doc.get("action"))
        put_text(event, "rule.name", doc.get("cause"))
        _file_and_actor(event, doc)

    @staticmethod
    def _enterpriseinspectoralert_event(event: Event, doc: dict[str, Any]) -> None:
        put_text(event, "rule.name", doc.get("rulename"))
        put_text(event, "rule.id", doc.get("ruleid"))
        _process(event, doc.get("processname"))
        put_text(event, "process.command_line", doc.get("commandline"))
        _user(event, doc.get("username"))
        sha1 = doc.get("hash")
        if isinstance(sha1, str) and sha1:
            set_field(event, "process.hash.sha1", sha1.lower())
            related(event, "hash", sha1.lower())

    @staticmethod
    def _other(event: Event, doc: dict[str, Any]) -> None:
        put_text(event, "event.action", doc.get("action"))
