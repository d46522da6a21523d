"""Check Point (Log Exporter, syslog RFC 5424 with ``key:"value";`` data) to ECS:
dataset ``checkpoint.firewall``.

The field table follows Elastic's Filebeat ``checkpoint/firewall`` module, which also
mirrors source/destination into client/server.

Check Point's "structured data" is ``[key:"value"; ...]``, not RFC 5424 parameters, so
the header is split here rather than with ``parsers.syslog``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from parsers.base import BaseParser
from parsers.firewall._common import (
    UNSPECIFIED_V4,
    append,
    apply_map,
    dig,
    finish_network,
    iso,
    put,
    to_int,
)
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent

_HEADER: Final = re.compile(
    r"^<(\d{1,3})>(\d{1,2}) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +\[(.*)\]\s*$", re.S)
# The value: plain runs and backslash escapes, "unrolled" (plain* (escape plain*)*): the
# same text as (plain|escape)* at about twice the speed.
_PAIR: Final = re.compile(r'([\w\-.]+):+"([^"\\]*(?:\\.[^"\\]*)*)"')
_EXCLUDED: Final = frozenset({"flags", "layer_uuid", "originsicname", "__policy_id_tag",
                              "version", "rounded_bytes", "db_tag", "update_service"})

Table = dict[str, tuple[str, str]]
FIELDS: Final[Table] = {
    "src": ("source.ip", "str"),
    "client_ip": ("source.ip", "str"),
    "dst": ("destination.ip", "str"),
    "uid": ("source.user.id", "str"),
    "administrator": ("source.user.name", "str"),
    "source_user_name": ("source.user.name", "str"),
    "client_outbound_packets": ("source.packets", "int"),
    "server_outbound_packets": ("destination.packets", "int"),
    "client_outbound_bytes": ("source.bytes", "int"),
    "sent_byte": ("source.bytes", "int"),
    "server_outbound_bytes": ("destination.bytes", "int"),
    "received_bytes": ("destination.bytes", "int"),
    "service": ("destination.port", "int"),
    "s_port": ("source.port", "int"),
    "mac_source_address": ("source.mac", "str"),
    "from": ("source.user.email", "str"),
    "src_machine_name": ("source.domain", "str"),
    "destination_dns_hostname": ("destination.domain", "str"),
    "dst_machine_name": ("destination.domain", "str"),
    "src_user_group": ("source.user.group.name", "str"),
    "to": ("destination.user.email", "str"),
    "usercheck_incident_uid": ("destination.user.id", "str"),
    "service_name": ("destination.service.name", "str"),
    "mac_destination_address": ("destination.mac", "str"),
    "dns_type": ("dns.question.type", "str"),
    "domain_name": ("dns.question.name", "str"),
    "dns_message_type": ("dns.type", "str"),
    "tid": ("dns.id", "str"),
    "sequencenum": ("event.sequence", "int"),
    "severity": ("event.severity", "int"),
    "packet_capture": ("event.url", "str"),
    "start_time": ("event.start", "str"),
    "first_detection": ("event.start", "str"),
    "last_detection": ("event.end", "str"),
    "app_risk": ("event.risk_score", "float"),
    "file_id": ("file.inode", "str"),
    "file_type": ("file.type", "str"),
    "file_name": ("file.name", "str"),
    "dlp_file_name": ("file.name", "str"),
    "file_size": ("file.size", "int"),
    "file_md5": ("file.hash.md5", "str"),
    "file_sha1": ("file.hash.sha1", "str"),
    "file_sha256": ("file.hash.sha256", "str"),
    "user_group": ("group.name", "str"),
    "os_version": ("host.os.version", "str"),
    "os_name": ("host.os.name", "str"),
    "method": ("http.request.method", "str"),
    "referrer": ("http.request.referrer", "str"),
    "service_id": ("network.application", "str"),
    "app_name": ("network.application", "str"),
    "ifdir": ("network.direction", "str"),
    "bytes": ("network.bytes", "int"),
    "proto": ("network.iana_number", "str"),
    "packets": ("network.packets", "int"),
    "layer_name": ("network.name", "str"),
    "client_inbound_interface": ("observer.ingress.interface.name", "str"),
    "client_outbound_interface": ("observer.egress.interface.name", "str"),
    "type": ("observer.type", "str"),
    "origin": ("observer.name", "str"),
    "origin_ip": ("observer.ip", "str"),
    "endpoint_ip": ("observer.ip", "str"),
    "outzone": ("observer.egress.zone", "str"),
    "security_outzone": ("observer.egress.zone", "str"),
    "inzone": ("observer.ingress.zone", "str"),
    "security_inzone": ("observer.ingress.zone", "str"),
    "update_version": ("observer.version", "str"),
    "process_md5": ("process.hash.md5", "str"),
    "process_name": ("process.name", "str"),
    "parent_process_md5": ("process.parent.hash.md5", "str"),
    "parent_process_name": ("process.parent.name", "str"),
    "matched_category": ("rule.category", "str"),
    "categories": ("rule.category", "str"),
    "malware_action": ("rule.description", "str"),
    "malware_rule_id": ("rule.id", "str"),
    "app_rule_id": ("rule.id", "str"),
    "objectname": ("rule.name", "str"),
    "rule_name": ("rule.name", "str"),
    "malware_rule_name": ("rule.name", "str"),
    "app_rule_name": ("rule.name", "str"),
    "dlp_rule_name": ("rule.name", "str"),
    "smartdefence_profile": ("rule.ruleset", "str"),
    "policy": ("rule.ruleset", "str"),
    "rule_uid": ("rule.uuid", "str"),
    "dlp_rule_uid": ("rule.uuid", "str"),
    "url": ("url.original", "str"),
    "resource": ("url.original", "str"),
    "http_host": ("url.domain", "str"),
    "web_client_type": ("user_agent.name", "str"),
    "user_agent": ("user_agent.original", "str"),
    "industry_reference": ("vulnerability.id", "str"),
    "message": ("message", "str"),
    "reason": ("message", "str"),
    "subject": ("message", "str"),
}
# Login events carry a human action that Elastic normalises.
_LOGIN_ACTIONS: Final = {"Log In": ("logged-in", "allowed", "success"),
                         "Failed Log In": ("logon-failed", "denied", "failure"),
                         "Log Out": ("logged-out", "allowed", "success")}
_MIRROR: Final = (("source", "client"), ("destination", "server"))


class CheckpointFirewallParser(BaseParser):
    """Check Point Log Exporter syslog: ``<134>1 TS host CheckPoint PID - [k:"v"; ...]``."""

    id = "checkpoint.firewall"
    syslog_programs: tuple[str, ...] = ("CheckPoint",)
    route_signals: tuple[str, ...] = (" CheckPoint ",)
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        return " CheckPoint " in raw.message and '; ' in raw.message

    def parse(self, raw: RawEvent) -> Event:
        m = _HEADER.match(raw.message.strip())
        if not m:
            raise ParseError(self.id, "not an RFC 5424 Check Point record")
        # Most values hold no backslash: skip both replaces for them.
        data = {k: v.replace('\\"', '"').replace("\\]", "]") if "\\" in v else v
                for k, v in _PAIR.findall(m.group(8)) if k not in _EXCLUDED}
        if not data:
            raise ParseError(self.id, "no key:value data in the structured part")
        event = self.new_event(raw)
        stamp = _epoch_or_iso(data.get("time")) or _epoch_or_iso(m.group(3))
        if stamp is None:
            raise ParseError(self.id, f"bad timestamp {m.group(3)!r}")
        event["@timestamp"] = iso(stamp)
        put(event, "observer.vendor", "Checkpoint")
        put(event, "observer.product", data.get("product"))
        if data.get("xlatesrc") not in (None, UNSPECIFIED_V4):
            put(event, "source.nat.ip", data["xlatesrc"])
        if data.get("xlatedst") not in (None, UNSPECIFIED_V4):
            put(event, "destination.nat.ip", data["xlatedst"])
        if data.get("xlatedport") not in (None, "0"):
            put(event, "destination.nat.port", to_int(data["xlatedport"]))
        if data.get("xlatesport") not in (None, "0"):
            put(event, "source.nat.port", to_int(data["xlatesport"]))
        apply_map(event, data, FIELDS)
        if "type" not in data:
            put(event, "observer.type", "firewall")
        ifname = data.get("ifname")
        direction = data.get("ifdir")
        if ifname and direction == "inbound":
            put(event, "observer.ingress.interface.name", ifname)
        elif ifname and direction == "outbound":
            put(event, "observer.egress.interface.name", ifname)
        if data.get("mac_address"):
            put(event, "observer.mac", data["mac_address"].upper().replace(":", "-"))
        # event.id stays the pipeline's deterministic id (the store deduplicates on it);
        # Check Point's own log id is kept as checkpoint.loguid.
        put(event, "checkpoint.loguid", data.get("loguid"))
        self._classify(event, data)
        self._mirror(event)
        finish_network(event)
        self._related(event)
        if data.get("sys_message"):
            put(event, "checkpoint.sys_message", data["sys_message"].removeprefix(':"'))
        for key in ("rule_action", "logid", "match_id", "parent_rule", "nat_rulenum",
                    "nat_addtnl_rulenum", "operation", "audit_status"):
            if data.get(key):  # put skips empty values anyway; spare the path building
                put(event, f"checkpoint.{key}", data[key])
        return event

    def _classify(self, event: Event, data: dict[str, str]) -> None:
        action = data.get("action")
        rule_action = data.get("rule_action")
        login = _LOGIN_ACTIONS.get(action or "")
        operation = data.get("operation")
        if login or operation == "Log In":
            append(event, "event.category", "authentication")
        append(event, "event.category", "network")
        if login:
            put(event, "event.action", login[0])
            append(event, "event.type", login[1])
            put(event, "event.outcome", login[2])
        else:
            put(event, "event.action", action)
        alert = rule_action in ("Prevent", "Detect", "Quarantine")
        put(event, "event.kind", "alert" if alert else "event")
        if rule_action in ("Accept", "Allow"):
            put(event, "event.outcome", "success")
            append(event, "event.type", "allowed", "connection")
        elif rule_action in ("Drop", "Reject", "Block", "Prevent"):
            put(event, "event.outcome", "success")
            append(event, "event.type", "connection", "denied")
        if data.get("audit_status") == "Success":
            put(event, "event.outcome", "success")
        elif data.get("audit_status") == "Failure":
            put(event, "event.outcome", "failure")
        if data.get("malware_action"):
            append(event, "event.category", "malware")
        if rule_action in ("Detect", "Prevent"):
            append(event, "event.category", "intrusion_detection")

    def _mirror(self, event: Event) -> None:
        for side, role in _MIRROR:
            values = event.get(side)
            if isinstance(values, dict):
                event[role] = _copy(values)

    def _related(self, event: Event) -> None:
        # Elastic appends these without removing duplicates; mirror it for fidelity.
        source, destination = event.get("source"), event.get("destination")
        ips = [ip for ip in (dig(source, "ip"), dig(source, "nat", "ip"),
                             dig(destination, "ip"), dig(destination, "nat", "ip")) if ip]
        related: dict[str, Any] = {}
        if ips:
            related["ip"] = ips
        users = [u for u in (dig(source, "user", "name"), dig(destination, "user", "name"))
                 if u]
        if users:
            related["user"] = users
        file_hash = dig(event, "file", "hash")
        hashes = [h for h in (dig(file_hash, "md5"), dig(file_hash, "sha1"),
                              dig(file_hash, "sha256")) if h]
        if hashes:
            related["hash"] = hashes
        if related:
            event["related"] = related
        else:
            event.pop("related", None)


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in value.items()}


def _epoch_or_iso(text: str | None) -> datetime | None:
    if not text or text == "-":
        return None
    try:
        if text.isdecimal():
            return datetime.fromtimestamp(int(text), UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
