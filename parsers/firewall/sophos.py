"""Sophos XG / SFOS firewall syslog (key=value) to ECS: dataset ``sophos.xg``.

One common header (device, log id, time) then one mapping per ``log_type`` (Firewall,
IDP, ATP, Anti-Virus, Anti-Spam, Sandbox, Content Filtering, Event, WAF, System Health,
Wireless Protection), following Elastic's Filebeat ``sophos/xg`` module.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import Any, Final

from parsers.base import BaseParser
from parsers.firewall._common import (
    append,
    apply_map,
    get,
    iso,
    local_time,
    parse_kv,
    put,
    set_community_id,
    strip_pri,
    to_float,
    to_int,
    uri_parts,
)
from parsers.web.ecs import set_user_agent
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

Table = dict[str, tuple[str, str]]
_LEVELS: Final = {"0": "unknown", "1": "alert", "2": "critical", "3": "error", "4": "warning",
                  "5": "notification", "6": "informational", "7": "debug"}
_EMPTY: Final = frozenset({"", "-", "N/A"})
_INSIDE_ZONES: Final = frozenset({"LAN", "DMZ", "VPN", "WiFi"})

FIREWALL: Final[Table] = {
    "dst_ip": ("destination.ip", "str"),
    "tran_dst_ip": ("destination.nat.ip", "str"),
    "destinationip": ("destination.ip", "str"),
    "dst_port": ("destination.port", "int"),
    "tran_dst_port": ("destination.nat.port", "int"),
    "dst_mac": ("destination.mac", "str"),
    "recv_bytes": ("destination.bytes", "int"),
    "recv_pkts": ("destination.packets", "int"),
    "src_ip": ("source.ip", "str"),
    "tran_src_ip": ("source.nat.ip", "str"),
    "sourceip": ("source.ip", "str"),
    "src_port": ("source.port", "int"),
    "tran_src_port": ("source.nat.port", "int"),
    "src_mac": ("source.mac", "str"),
    "sent_bytes": ("source.bytes", "int"),
    "sent_pkts": ("source.packets", "int"),
    "user_name": ("source.user.name", "str"),
    "user_gp": ("source.user.group.name", "str"),
    "fw_rule_id": ("rule.id", "str"),
    "policy_type": ("rule.ruleset", "str"),
    "application": ("network.protocol", "lower"),
    "protocol": ("network.transport", "lower"),
}
IDP: Final[Table] = {
    "dst_ip": ("destination.ip", "str"),
    "dst_port": ("destination.port", "int"),
    "src_ip": ("source.ip", "str"),
    "src_port": ("source.port", "int"),
    "user_name": ("source.user.name", "str"),
    "signature_id": ("rule.id", "str"),
    "signature_msg": ("rule.name", "str"),
    "classification": ("rule.category", "str"),
    "protocol": ("network.transport", "str"),
}
ATP: Final[Table] = {
    "destinationip": ("destination.ip", "str"),
    "dst_port": ("destination.port", "int"),
    "sourceip": ("source.ip", "str"),
    "src_ip": ("source.ip", "str"),
    "src_port": ("source.port", "int"),
    "user_name": ("source.user.name", "str"),
    "url": ("url.original", "str"),
    "protocol": ("network.transport", "lower"),
}
ANTISPAM: Final[Table] = {
    "dst_ip": ("destination.ip", "str"),
    "dst_port": ("destination.port", "int"),
    "recv_bytes": ("destination.bytes", "int"),
    "to_email_address": ("destination.user.email", "str"),
    "src_ip": ("source.ip", "str"),
    "src_port": ("source.port", "int"),
    "sent_bytes": ("source.bytes", "int"),
    "from_email_address": ("source.user.email", "str"),
    "src_domainname": ("source.domain", "str"),
    "protocol": ("network.transport", "str"),
}
SANDBOX: Final[Table] = {
    "src_ip": ("source.ip", "str"),
    "user_name": ("source.user.name", "str"),
    "filesize": ("file.size", "int"),
    "filetype": ("file.mime_type", "str"),
    "sha1sum": ("file.hash.sha1", "str"),
}
CFILTER: Final[Table] = {
    "dst_ip": ("destination.ip", "str"),
    "dst_port": ("destination.port", "int"),
    "src_ip": ("source.ip", "str"),
    "src_port": ("source.port", "int"),
    "user_name": ("source.user.name", "str"),
    "user_gp": ("source.user.group.name", "str"),
    "recv_bytes": ("destination.bytes", "int"),
    "sent_bytes": ("source.bytes", "int"),
    "referer": ("http.request.referrer", "str"),
    "status_code": ("http.response.status_code", "int"),
    "protocol": ("network.transport", "str"),
}
EVENT: Final[Table] = {
    "dst_ip": ("destination.ip", "str"),
    "localinterfaceip": ("destination.ip", "str"),
    "recv_bytes": ("destination.bytes", "int"),
    "src_ip": ("source.ip", "str"),
    "remoteinterfaceip": ("source.ip", "str"),
    "src_mac": ("source.mac", "str"),
    "sent_bytes": ("source.bytes", "int"),
    "name": ("source.user.name", "str"),
    "user_name": ("source.user.name", "str"),
    "usergroupname": ("source.user.group.name", "str"),
    "message": ("message", "str"),
}
WAF: Final[Table] = {
    "localip": ("destination.ip", "str"),
    "bytessent": ("destination.bytes", "int"),
    "sourceip": ("source.ip", "str"),
    "bytesrcv": ("source.bytes", "int"),
    "user_name": ("source.user.name", "str"),
    "user_gp": ("source.user.group.name", "str"),
    "referer": ("http.request.referrer", "str"),
    "method": ("http.request.method", "str"),
    "ws_protocol": ("http.version", "str"),
    "useragent": ("user_agent.original", "str"),
}
# Message ids (the last five digits of log_id) Elastic classifies.
_FW_ALERTS: Final = frozenset({"03001", "05001", "05151", "00003", "00004"})
_SPAM_MALWARE: Final = frozenset({"13001", "13002", "13004", "13005", "13006", "13009", "13014",
                                  "14001", "14002", "15001", "15002"})
_SPAM_ALERTS: Final = _SPAM_MALWARE | {"13012"}
_SPAM_ALLOWED: Final = frozenset({"13003", "13007", "13008", "13010", "13013", "14003",
                                  "15003", "18035"})
_IDP_IDS: Final = frozenset({"06001", "06002", "07001", "07002"})
_ATP_IDS: Final = frozenset({"18009", "18010"})
_LOGIN_START: Final = frozenset({"17701", "17704", "17707", "17710", "17713"})
_LOGIN_END: Final = frozenset({"17703", "17706", "17709", "17712", "17715"})
_VPN_CLIENTS: Final = frozenset({"SSLVPN", "IPSec", "Thin Client", "Radius SSO"})
_CPU: Final = (("idle", "idle_cpu"), ("system", "system_cpu"), ("user", "user_cpu"))
_FLOATS: Final = ("Configuration", "Reports", "Temp", "Signature", "transmittedkbits",
                  "receivedkbits")
_INTS: Final = ("used", "total_memory", "free", "users", "clients_conn_ssid")


class SophosXgParser(BaseParser):
    """Sophos XG: ``<30>device="SFW" date=2020-05-18 time=14:38:37 ... log_type="Firewall"``."""

    id = "sophos.xg"
    syslog_programs: tuple[str, ...] = ()
    route_signals: tuple[str, ...] = ('device="SFW"', "device=SFW", "log_component=")
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        msg = raw.message
        return "log_id=" in msg and "log_type=" in msg

    def parse(self, raw: RawEvent) -> Event:
        _, body = strip_pri(raw.message.lstrip())
        kv = {k: v for k, v in parse_kv(body.replace("clients_conn_SSID", "clients_conn_ssid"))
              .items() if v not in _EMPTY}
        log_type = kv.get("log_type")
        if log_type is None or "log_id" not in kv:
            raise ParseError(self.id, "not a Sophos XG record (log_type/log_id missing)")
        event = self.new_event(raw)
        self._time(event, kv)
        log_id = kv["log_id"]
        message_id = log_id[7:]
        severity = log_id[6:7]
        if severity.isdecimal():
            put(event, "event.severity", int(severity))
            put(event, "log.level", _LEVELS.get(severity))
        put(event, "event.code", message_id or log_id)
        put(event, "observer", {"vendor": "Sophos", "product": "XG", "type": "firewall"})
        put(event, "observer.serial_number", kv.get("device_id"))
        put(event, "observer.egress.interface.name", kv.get("out_interface"))
        put(event, "observer.ingress.interface.name", kv.get("in_interface"))
        put(event, "observer.ingress.zone", kv.get("srczone") or kv.get("srczonetype"))
        put(event, "observer.egress.zone", kv.get("dstzone") or kv.get("dstzonetype"))
        put(event, "event.reason", kv.get("reason"))
        handler = _HANDLERS.get(log_type)
        if handler is not None:
            handler(event, kv, message_id)
        mac = get(event, "source.mac")
        if isinstance(mac, str):
            event["source"]["mac"] = mac.upper().replace(":", "-")
        mac = get(event, "destination.mac")
        if isinstance(mac, str):
            event["destination"]["mac"] = mac.upper().replace(":", "-")
        for what in ("bytes", "packets"):
            a, b = get(event, f"source.{what}"), get(event, f"destination.{what}")
            if isinstance(a, int) and isinstance(b, int):
                put(event, f"network.{what}", a + b)
        transport = get(event, "network.transport")
        if isinstance(transport, str):
            event["network"]["transport"] = transport.lower()
        set_community_id(event)
        vendor = {k: v for k, v in kv.items() if k not in ("date", "time", "duration",
                                                           "timezone", "dir_disp")}
        vendor["message_id"] = message_id
        put(event, "sophos.xg", _typed(vendor))
        return event

    def _time(self, event: Event, kv: dict[str, str]) -> None:
        stamp: datetime | None = None
        try:
            if "date" in kv and "time" in kv:
                stamp = local_time(f"{kv['date']} {kv['time']}", self.options.tz)
                if stamp is None:
                    raise ValueError(kv["date"])
            elif "timestamp" in kv:
                stamp = datetime.fromisoformat(kv["timestamp"].replace("Z", "+00:00"))
        except ValueError:
            raise ParseError(self.id, "bad date/time") from None
        if stamp is None:
            raise ParseError(self.id, "no date/time")
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=self.options.tz)
        event["@timestamp"] = iso(stamp)
        duration = to_int(kv.get("duration"))
        if duration is not None:
            put(event, "event.duration", duration * 1_000_000_000)
            put(event, "event.start", iso(stamp))
            put(event, "event.end", iso(stamp + timedelta(seconds=duration)))


def _base(event: Event, kv: dict[str, str], kind: str, table: Table) -> None:
    put(event, "event.kind", kind)
    apply_map(event, kv, table)


def _related(event: Event, nat: bool = False) -> None:
    add_related(event, "ip", get(event, "source.ip"), get(event, "destination.ip"))
    if nat:
        add_related(event, "ip", get(event, "source.nat.ip"), get(event, "destination.nat.ip"))
    add_related(event, "user", get(event, "source.user.name"))
    related = event.get("related")
    if isinstance(related, dict):
        for k in [k for k, v in related.items() if not v]:
            del related[k]
        if not related:
            del event["related"]


def _action(event: Event, kv: dict[str, str]) -> None:
    subtype = kv.get("log_subtype")
    if subtype:
        put(event, "event.action", subtype.lower())
        put(event, "event.outcome", "success")


def _firewall(event: Event, kv: dict[str, str], message_id: str) -> None:
    _base(event, kv, "alert" if message_id in _FW_ALERTS else "event", FIREWALL)
    _action(event, kv)
    if message_id in _FW_ALERTS:
        append(event, "event.category", "intrusion_detection")
    append(event, "event.category", "network")
    connevent = kv.get("connevent")
    if connevent in ("Start", "Interim"):
        append(event, "event.type", "start", "allowed", "connection")
    elif connevent == "Stop":
        append(event, "event.type", "end", "allowed", "connection")
    if kv.get("status") == "Deny":
        append(event, "event.type", "denied", "connection")
    ingress, egress = get(event, "observer.ingress.zone"), get(event, "observer.egress.zone")
    if egress in _INSIDE_ZONES and ingress == "WAN":
        put(event, "network.direction", "inbound")
    elif ingress in _INSIDE_ZONES and egress == "WAN":
        put(event, "network.direction", "outbound")
    elif ingress in _INSIDE_ZONES and egress in _INSIDE_ZONES:
        put(event, "network.direction", "internal")
    elif ingress == "WAN" and egress == "WAN":
        put(event, "network.direction", "external")
    _related(event, nat=True)


def _idp(event: Event, kv: dict[str, str], message_id: str) -> None:
    _base(event, kv, "alert", IDP)
    _action(event, kv)
    if message_id in _IDP_IDS:
        append(event, "event.category", "intrusion_detection", "network")
        append(event, "event.type", "denied", "connection")
    _related(event)


def _atp(event: Event, kv: dict[str, str], message_id: str) -> None:
    _base(event, kv, "alert", ATP)
    _action(event, kv)
    if message_id in _ATP_IDS:
        append(event, "event.category", "intrusion_detection", "network")
        append(event, "event.type", "denied", "connection")
    url = kv.get("url")
    if url and url != get(event, "destination.ip"):
        uri_parts(event, url)
        put(event, "url.full", url)
    add_related(event, "hosts", get(event, "url.domain"))
    _related(event)


def _antivirus(event: Event, kv: dict[str, str], message_id: str) -> None:
    # Same shape as the anti-spam mapping: the virus name and file are vendor fields.
    _antispam(event, kv, message_id)
    put(event, "event.kind", "alert")
    append(event, "event.category", "malware")
    put(event, "file.name", kv.get("filename"))


def _antispam(event: Event, kv: dict[str, str], message_id: str) -> None:
    _base(event, kv, "alert" if message_id in _SPAM_ALERTS else "event", ANTISPAM)
    # Elastic keeps the anti-spam sub-type as written (other types are lower-cased).
    put(event, "event.action", kv.get("log_subtype"))
    if kv.get("log_component"):
        put(event, "network.protocol", kv["log_component"].lower())
    put(event, "event.outcome", "success")
    if message_id in _SPAM_MALWARE:
        append(event, "event.category", "malware")
    if message_id == "13012":
        append(event, "event.category", "intrusion_detection")
    append(event, "event.category", "network")
    if message_id in _SPAM_ALLOWED:
        append(event, "event.type", "allowed", "connection")
    if message_id in _SPAM_ALERTS:
        append(event, "event.type", "info", "denied", "connection")
    _related(event)


def _sandbox(event: Event, kv: dict[str, str], message_id: str) -> None:
    subtype = kv.get("log_subtype")
    _base(event, kv, "alert" if subtype == "Denied" else "event", SANDBOX)
    put(event, "event.action", subtype)
    put(event, "event.outcome", "success" if subtype else None)
    put(event, "file.name", kv.get("filename"))
    origin = kv.get("source")
    if origin:
        # The file's origin: an address or a host name.
        put(event, "url.domain", origin)
        if _is_ip(origin):
            put(event, "destination.ip", origin)
        else:
            put(event, "destination.domain", origin)
        add_related(event, "hosts", origin)
    if subtype == "Denied":
        append(event, "event.category", "malware", "network")
        append(event, "event.type", "denied", "connection")
    else:
        append(event, "event.category", "network")
    if subtype == "Allowed":
        append(event, "event.type", "allowed")
    reason = kv.get("reason")
    if reason == "pending":
        append(event, "event.type", "start", "connection")
    elif reason == "eligible":
        append(event, "event.type", "end", "connection")
    add_related(event, "hash", get(event, "file.hash.sha1"))
    _related(event)


def _cfilter(event: Event, kv: dict[str, str], message_id: str) -> None:
    subtype = kv.get("log_subtype")
    _base(event, kv, "alert" if subtype == "Denied" else "event", CFILTER)
    _action(event, kv)
    if subtype == "Denied":
        append(event, "event.category", "malware", "network")
        append(event, "event.type", "info", "denied", "connection")
    else:
        append(event, "event.category", "network")
    if subtype in ("Allowed", "Warned"):
        append(event, "event.type", "allowed", "connection")
    url = kv.get("url")
    if url:
        uri_parts(event, url)
        put(event, "url.full", url)
    if kv.get("user_agent"):
        set_user_agent(event, kv["user_agent"])
    if get(event, "url.domain") is None:
        put(event, "url.domain", kv.get("domain"))
    status = to_int(kv.get("http_status"))
    if status and get(event, "http.response.status_code") is None:
        put(event, "http.response.status_code", status)
    if get(event, "network.protocol") is None:
        put(event, "network.protocol", get(event, "url.scheme"))
    _related(event)


def _event(event: Event, kv: dict[str, str], message_id: str) -> None:
    _base(event, kv, "event", EVENT)
    subtype, status = kv.get("log_subtype"), kv.get("status")
    if subtype == "Authentication" or (subtype == "Admin" and message_id == "17507"):
        if status == "Successful":
            put(event, "event.outcome", "success")
        elif status == "Failed":
            put(event, "event.outcome", "failure")
    if message_id in _LOGIN_START:
        append(event, "event.type", "user", "start")
    if message_id in _LOGIN_END:
        append(event, "event.type", "user", "end")
    if kv.get("auth_client") in _VPN_CLIENTS:
        append(event, "event.type", "connection")
        append(event, "event.category", "network")
    if subtype == "Authentication":
        append(event, "event.category", "authentication")
        put(event, "user.name", get(event, "source.user.name"))
    if message_id == "17819":
        append(event, "event.type", "info")
        append(event, "event.category", "host", "malware")
    _related(event)


def _waf(event: Event, kv: dict[str, str], message_id: str) -> None:
    reason = kv.get("reason")
    blocked = reason is not None
    _base(event, kv, "alert" if blocked else "event", WAF)
    put(event, "event.action", "denied" if blocked else "allowed")
    if reason == "Antivirus":
        append(event, "event.category", "malware", "network")
    elif blocked:
        append(event, "event.category", "intrusion_detection", "network")
    append(event, "event.type", *(("denied", "connection") if blocked else
                                  ("allowed", "connection")))
    put(event, "url.full", kv.get("url"))
    put(event, "url.domain", kv.get("domain"))
    if reason:
        put(event, "event.outcome", "success")
    micros = to_int(kv.get("responsetime"))
    if micros is not None:
        put(event, "event.duration", micros * 1000)
    status = to_int(kv.get("httpstatus"))
    if status is not None:
        put(event, "http.response.status_code", status)
    _related(event)


def _system_health(event: Event, kv: dict[str, str], message_id: str) -> None:
    put(event, "event.kind", "event")
    for key, target in _CPU:
        if key in kv:
            value = to_float(kv.pop(key).rstrip("%"))
            if value is not None:
                kv[target] = str(value)
    for key in _FLOATS:
        if key in kv and to_float(kv[key].rstrip("%")) is None:
            del kv[key]


def _wifi(event: Event, kv: dict[str, str], message_id: str) -> None:
    put(event, "event.kind", "event")
    put(event, "event.outcome", "success")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _typed(kv: dict[str, str]) -> dict[str, Any]:
    """Vendor counters Elastic stores as numbers (memory, users, SSID clients)."""
    out: dict[str, Any] = dict(kv)
    for key in _INTS:
        number = to_int(kv.get(key))
        if number is not None:
            out[key] = number
    return out


_HANDLERS: Final = {
    "Firewall": _firewall, "IDP": _idp, "ATP": _atp, "Anti-Virus": _antivirus,
    "Anti-Spam": _antispam, "Sandbox": _sandbox, "Content Filtering": _cfilter,
    "Event": _event, "WAF": _waf, "System Health": _system_health,
    "Wireless Protection": _wifi,
}
