"""FortiGate (FortiOS) syslog in key=value form to ECS: dataset ``fortinet.firewall``.

Field tables follow Elastic's Filebeat ``fortinet/firewall`` module: one table per log
``type`` (traffic, event, utm/dns), then the fields common to all types.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Final

from parsers.base import BaseParser
from parsers.firewall._common import (
    append,
    apply_map,
    finish_network,
    finish_related,
    get,
    iso,
    local_time,
    parse_kv,
    put,
    strip_pri,
    to_int,
    tz_from_offset,
    uri_parts,
)
from parsers.web.ecs import set_user_agent
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

Table = dict[str, tuple[str, str]]

TRAFFIC: Final[Table] = {
    "dstip": ("destination.ip", "str"),
    "tranip": ("destination.nat.ip", "str"),
    "dstport": ("destination.port", "int"),
    "tranport": ("destination.nat.port", "int"),
    "rcvdbyte": ("destination.bytes", "int"),
    "rcvdpkt": ("destination.packets", "int"),
    "dstcollectedemail": ("destination.user.email", "str"),
    "dstname": ("destination.address", "str"),
    "dstunauthuser": ("destination.user.name", "str"),
    "group": ("source.user.group.name", "str"),
    "sentbyte": ("source.bytes", "int"),
    "srcdomain": ("source.domain", "str"),
    "srcip": ("source.ip", "str"),
    "srcmac": ("source.mac", "str"),
    "srcport": ("source.port", "int"),
    "unauthuser": ("source.user.name", "str"),
    "user": ("source.user.name", "str"),
    "collectedemail": ("source.user.email", "str"),
    "sentpkt": ("source.packets", "int"),
    "transip": ("source.nat.ip", "str"),
    "transport": ("source.nat.port", "int"),
    "app": ("network.application", "str"),
    "filename": ("file.name", "str"),
    "logid": ("event.code", "str"),
    "comment": ("rule.description", "str"),
    "policyid": ("rule.id", "str"),
    "poluuid": ("rule.uuid", "str"),
    "policytype": ("rule.ruleset", "str"),
    "policyname": ("rule.name", "str"),
    "appcat": ("rule.category", "str"),
    "url": ("url.path", "str"),
}

EVENT: Final[Table] = {
    "dstip": ("destination.ip", "str"),
    "remip": ("destination.ip", "str"),
    "dstport": ("destination.port", "int"),
    "remport": ("destination.port", "int"),
    "rcvdbyte": ("destination.bytes", "int"),
    "daddr": ("destination.address", "str"),
    "dst_host": ("destination.address", "str"),
    "group": ("source.user.group.name", "str"),
    "sentbyte": ("source.bytes", "int"),
    "srcip": ("source.ip", "str"),
    "locip": ("source.ip", "str"),
    "srcmac": ("source.mac", "str"),
    "source_mac": ("source.mac", "str"),
    "srcport": ("source.port", "int"),
    "locport": ("source.port", "int"),
    "user": ("source.user.name", "str"),
    "saddr": ("source.address", "str"),
    "agent": ("user_agent.original", "str"),
    "file": ("file.name", "str"),
    "filesize": ("file.size", "int"),
    "logid": ("event.code", "str"),
    "policyid": ("rule.id", "str"),
    "error_num": ("error.code", "str"),
    "hostname": ("url.domain", "str"),
    "logdesc": ("rule.description", "str"),
    "url": ("url.path", "str"),
    "sess_duration": ("event.duration", "int"),
}

UTM: Final[Table] = {
    "dstip": ("destination.ip", "str"),
    "remip": ("destination.ip", "str"),
    "dst_port": ("destination.port", "int"),
    "remport": ("destination.port", "int"),
    "dstport": ("destination.port", "int"),
    "rcvdbyte": ("destination.bytes", "int"),
    "recipient": ("destination.user.email", "str"),
    "locip": ("source.ip", "str"),
    "locport": ("source.port", "int"),
    "src_port": ("source.port", "int"),
    "srcport": ("source.port", "int"),
    "sentbyte": ("source.bytes", "int"),
    "srcdomain": ("source.domain", "str"),
    "srcip": ("source.ip", "str"),
    "srcmac": ("source.mac", "str"),
    "unauthuser": ("source.user.name", "str"),
    "user": ("source.user.name", "str"),
    "sender": ("source.user.email", "str"),
    "from": ("source.user.email", "str"),
    "app": ("network.application", "str"),
    "appcat": ("rule.category", "str"),
    "applist": ("rule.ruleset", "str"),
    "catdesc": ("rule.category", "str"),
    "error": ("event.message", "str"),
    "errorcode": ("event.code", "str"),
    "filename": ("file.name", "str"),
    "filesize": ("file.size", "int"),
    "filetype": ("file.extension", "str"),
    "infectedfilename": ("file.name", "str"),
    "infectedfilesize": ("file.size", "int"),
    "infectedfiletype": ("file.extension", "str"),
    "matchedfilename": ("file.name", "str"),
    "matchedfiletype": ("file.extension", "str"),
    "logid": ("event.code", "str"),
    "policy_id": ("rule.id", "str"),
    "policyid": ("rule.id", "str"),
    "profile": ("rule.ruleset", "str"),
    "qclass": ("dns.question.class", "str"),
    "qname": ("dns.question.name", "str"),
    "qtype": ("dns.question.type", "str"),
    "xid": ("dns.id", "str"),
    "scertcname": ("tls.server.x509.subject.common_name", "str"),
    "scertissuer": ("tls.server.issuer", "str"),
    "ccertissuer": ("tls.client.issuer", "str"),
    "dtype": ("vulnerability.category", "str"),
    "ref": ("event.reference", "str"),
}

COMMON: Final[Table] = {
    "devname": ("observer.name", "str"),
    "devid": ("observer.serial_number", "str"),
    "device_id": ("observer.serial_number", "str"),
    "dstintf": ("observer.egress.interface.name", "str"),
    "srcintf": ("observer.ingress.interface.name", "str"),
    "dst_int": ("observer.egress.interface.name", "str"),
    "src_int": ("observer.ingress.interface.name", "str"),
    "level": ("log.level", "str"),
    "reason": ("event.reason", "str"),
    "msg": ("message", "str"),
    "proto": ("network.iana_number", "str"),
    "group": ("source.user.group.name", "str"),
    "service": ("network.protocol", "lower"),
}

# Fields consumed into ECS and not repeated under fortinet.firewall (as the module does).
_DROP: Final = frozenset(
    {"date", "time", "tz", "eventtime", "duration", "hostname", "agent", "url", "devid",
     "devname", "dstintf", "srcintf", "level", "reason", "msg", "proto", "service", "group",
     "dstip", "srcip", "dstport", "srcport", "sentbyte", "rcvdbyte", "sentpkt", "rcvdpkt",
     "logid", "policyid", "poluuid", "policytype", "policyname", "appcat", "app", "user",
     "transip", "transport", "tranip", "tranport", "remip", "locip", "remport", "locport",
     "qname", "qtype", "qclass", "xid", "ipaddr", "dir", "direction", "filename", "filesize",
     "filetype", "logdesc", "profile", "catdesc", "srcmac", "ref", "dtype",
     "scertcname", "scertissuer"})
# Vendor fields Elastic keeps under fortinet.firewall besides moving them to ECS (never
# in _DROP, which a test checks).
_KEEP: Final = frozenset({"action", "subtype", "type", "sessionid"})
_SPLIT_TIME: Final = re.compile(r"\btime=(\d{1,2}:\s?\d{2}:\d{2})")
_ALLOWED: Final = frozenset({"pass", "passthrough", "exempt"})
_DENIED: Final = frozenset({"block", "blocked", "deny", "close", "server-rst", "dropped"})
_DIRECTION: Final = {"outgoing": "outbound", "incoming": "inbound"}


class FortinetFirewallParser(BaseParser):
    """FortiGate traffic, event and UTM logs (``date=... devid="FG..." type="traffic"``)."""

    id = "fortinet.firewall"
    syslog_programs: tuple[str, ...] = ()
    route_signals: tuple[str, ...] = ('devid="FG', "devid=FG", "logid=")
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        msg = raw.message
        # " type=" with its space: Sophos writes "log_type=" and "device_id=" too. Some
        # FortiOS records carry no devid= at all, only logid= (Sophos writes "log_id=").
        return (("devid=" in msg or "device_id=" in msg or "logid=" in msg)
                and " type=" in msg and "date=" in msg)

    def parse(self, raw: RawEvent) -> Event:
        _, body = strip_pri(raw.message.lstrip())
        if "\x00" in body:
            # Some FortiOS builds pad records with NUL bytes; they are not content.
            body = body.replace("\x00", "")
        kv = parse_kv(body)
        if "type" not in kv or "date" not in kv or "time" not in kv:
            raise ParseError(self.id, "not a FortiGate key=value log (type/date/time missing)")
        kv = {k: v for k, v in kv.items() if v not in ("N/A", "undefined")}
        event = self.new_event(raw)
        self._timestamps(event, kv, body)
        put(event, "observer", {"vendor": "Fortinet", "product": "Fortigate", "type": "firewall"})
        kind = kv["type"]
        action = kv.get("action")
        subtype = kv.get("subtype")
        if kind == "traffic":
            self._traffic(event, kv, action)
        elif kind == "event":
            self._event(event, kv, action, subtype)
        elif kind in ("utm", "dns"):
            self._utm(event, kv, action, subtype)
        apply_map(event, kv, COMMON)
        category = get(event, "rule.category")
        if isinstance(category, str):
            event["rule"]["category"] = category.replace(".", "-")
        direction = kv.get("dir") or kv.get("direction")
        if direction and kind != "traffic":
            put(event, "network.direction", _DIRECTION.get(direction.lower(), direction.lower()))
        url = kv.get("url")
        if url and kind != "traffic" and kind != "event":
            uri_parts(event, url)
        if kv.get("hostname") and get(event, "url.domain") is None:
            put(event, "url.domain", kv["hostname"])
        if kv.get("agent") and kind != "event":
            set_user_agent(event, kv["agent"])
        if kv.get("duration") and (d := to_int(kv["duration"])) is not None:
            put(event, "event.duration", d * 1_000_000_000)
        finish_network(event)
        for ip in get(event, "dns.resolved_ip") or []:
            add_related(event, "ip", ip)
        finish_related(event)
        # _KEEP's fields are never in _DROP, so this copy already holds them, in order.
        put(event, "fortinet.firewall", {k: v for k, v in kv.items() if k not in _DROP})
        return event

    def _timestamps(self, event: Event, kv: dict[str, str], raw_text: str) -> None:
        tz = tz_from_offset(kv.get("tz")) or self.options.tz
        if len(kv["time"]) < 8:
            # FortiOS 4 writes "time=10: 13:03"; rebuild the stamp from the raw text.
            m = _SPLIT_TIME.search(raw_text)
            if m:
                kv["time"] = m.group(1).replace(" ", "")
        local = local_time(f"{kv['date']} {kv['time']}", tz)
        if local is None:
            raise ParseError(self.id, f"bad date/time {kv['date']!r} {kv['time']!r}")
        event["@timestamp"] = iso(local)
        if kv.get("tz"):
            put(event, "event.timezone", kv["tz"])
        et = kv.get("eventtime", "")
        if et.isdigit():
            # FortiOS writes seconds, milliseconds or nanoseconds since the epoch.
            if len(et) > 18:
                et = et[:-6]
            seconds = int(et) / 1000 if len(et) > 11 else int(et)
            with contextlib.suppress(OverflowError, OSError, ValueError):
                put(event, "event.start", iso(datetime.fromtimestamp(seconds, UTC)))

    def _traffic(self, event: Event, kv: dict[str, str], action: str | None) -> None:
        put(event, "event.kind", "event")
        put(event, "event.category", ["network"])
        types = ["connection"]
        if action is not None:
            put(event, "event.action", action)
            put(event, "event.outcome", "success")
            types.append("start" if action == "start" else "end")
        if kv.get("app") and action != "deny":
            types.append("protocol")
        if kv.get("utmaction") is None and action != "deny":
            types.append("allowed")
        if kv.get("utmaction") == "block" or action == "deny":
            types.append("denied")
        put(event, "event.type", types)
        apply_map(event, kv, TRAFFIC)

    def _event(self, event: Event, kv: dict[str, str], action: str | None,
               subtype: str | None) -> None:
        put(event, "event.kind", "event")
        if action:
            put(event, "event.action", action)
        result, status = kv.get("result"), kv.get("status")
        if result == "ERROR" or status == "negotiate_error":
            put(event, "event.outcome", "failure")
        elif result == "OK" or action in ("FSSO-logon", "auth-logon", "FSSO-logoff", "auth-logout"):
            put(event, "event.outcome", "success")
        if action in ("FSSO-logon", "auth-logon"):
            append(event, "event.type", "user", "start")
        if action in ("FSSO-logoff", "auth-logout"):
            append(event, "event.type", "user", "end")
        if subtype == "vpn":
            append(event, "event.type", "connection")
            append(event, "event.category", "network")
        if action == "perf-stats":
            append(event, "event.type", "info")
            append(event, "event.category", "host")
        if subtype == "update":
            append(event, "event.type", "info")
            append(event, "event.category", "host", "malware")
        if subtype == "user":
            append(event, "event.category", "authentication")
        apply_map(event, kv, EVENT)

    def _utm(self, event: Event, kv: dict[str, str], action: str | None,
             subtype: str | None) -> None:
        alert = subtype in ("virus", "ips") or "attack" in kv
        put(event, "event.kind", "alert" if alert else "event")
        if action:
            put(event, "event.action", action)
            put(event, "event.outcome", "success")
            if action in _ALLOWED:
                append(event, "event.type", "allowed")
            if action in _DENIED:
                append(event, "event.type", "denied")
        if subtype == "dns":
            append(event, "event.type", "info")
        append(event, "event.category", "network")
        if subtype == "ips":
            append(event, "event.category", "intrusion_detection")
        apply_map(event, kv, UTM)
        issuer = get(event, "tls.server.issuer")
        if issuer:
            put(event, "tls.server.x509.issuer.common_name", issuer)
        client_issuer = get(event, "tls.client.issuer")
        if client_issuer:
            put(event, "tls.client.x509.issuer.common_name", client_issuer)
        if kv.get("ipaddr"):
            put(event, "dns.resolved_ip", kv["ipaddr"].split(", "))
        if kv.get("filehash"):
            put(event, "fortinet.file.hash.crc32", kv["filehash"])
            add_related(event, "hash", kv["filehash"])
