"""Juniper SRX structured syslog (``RT_FLOW``, ``RT_IDP``, ``RT_IDS``, ``RT_UTM``, ``RT_AAMW``,
``RT_SECINTEL``) to ECS: dataset ``juniper.srx``.

Only the "structured-data + brief" syslog format carries named fields; the mapping
follows Elastic's Filebeat ``juniper/srx`` module (source/destination mirrored into
client/server).

The header has its own regex rather than ``parsers.syslog.split_rfc5424``: SRX writes
zone-less ISO stamps (``2013-01-19T15:18:17.040``) and, in AAMW logs, typographic quotes
inside the structured data, both of which a strict RFC 5424 reader rightly rejects.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Final

from parsers.base import BaseParser
from parsers.firewall._common import (
    append,
    apply_map,
    finish_network,
    get,
    iso,
    parse_kv,
    put,
    to_int,
)
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

_HEADER: Final = re.compile(
    # A relay (syslog server in between) may drop the PRI and put its own BSD header first:
    # "Aug 24 04:58:58 192.168.1.1 junos-ids: 2017-08-24T04:58:58.724Z host RT_IDS - ..."
    r"^(?:<(\d{1,3})>)?(?:[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \S+ [\w\-.]+(?:\[\d+\])?: )?"
    r"(?:\d{1,3}\s)?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)\s(\S+)\s(\S+)\s(?:\d+|-)?\s(\w+)\s\[\S*\s(.*)\](?:\s.*)?$", re.S)
# Without the "brief" option Junos writes the English text after the structured data:
# the parameters end at the first "]" outside a quoted value.
_WITH_TEXT: Final = re.compile(r'((?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*)\]\s')
_EMPTY: Final = frozenset({"None", "UNKNOWN", "N/A", "-", ""})
_LEVELS: Final = ("emergency", "alert", "critical", "error", "warning", "notification",
                  "informational", "debug")

Table = dict[str, tuple[str, str]]
COMMON: Final[Table] = {
    "destination_address": ("destination.ip", "str"),
    "nat_destination_address": ("destination.nat.ip", "str"),
    "destination_port": ("destination.port", "int"),
    "nat_destination_port": ("destination.nat.port", "int"),
    "bytes_from_server": ("destination.bytes", "int"),
    "packets_from_server": ("destination.packets", "int"),
    "client_ip": ("source.ip", "str"),
    "source_address": ("source.ip", "str"),
    "nat_source_address": ("source.nat.ip", "str"),
    "sourceip": ("source.ip", "str"),
    "source_port": ("source.port", "int"),
    "nat_source_port": ("source.nat.port", "int"),
    "bytes_from_client": ("source.bytes", "int"),
    "packets_from_client": ("source.packets", "int"),
    "username": ("source.user.name", "str"),
    "protocol_id": ("network.iana_number", "str"),
    "packet_incoming_interface": ("observer.ingress.interface.name", "str"),
    "destination_interface_name": ("observer.egress.interface.name", "str"),
    "source_interface_name": ("observer.ingress.interface.name", "str"),
    "interface_name": ("observer.ingress.interface.name", "str"),
    "source_zone_name": ("observer.ingress.zone", "str"),
    "source_zone": ("observer.ingress.zone", "str"),
    "destination_zone_name": ("observer.egress.zone", "str"),
    "destination_zone": ("observer.egress.zone", "str"),
}
PER_PROCESS: Final[dict[str, Table]] = {
    "RT_FLOW": {"policy_name": ("rule.name", "str"),
                "application_risk": ("event.risk_score", "float")},
    "RT_IDP": {"inbound_bytes": ("destination.bytes", "int"),
               "inbound_packets": ("destination.packets", "int"),
               "outbound_bytes": ("source.bytes", "int"),
               "outbound_packets": ("source.packets", "int"),
               "rulebase_name": ("rule.name", "str"),
               "rule_name": ("rule.id", "str"),
               "protocol_name": ("network.protocol", "str"),
               "message": ("message", "str")},
    "RT_UTM": {"urlcategory_risk": ("event.risk_score", "float"),
               "policy_name": ("rule.name", "str"),
               "url": ("url.domain", "str"),
               "obj": ("url.path", "str"),
               "filename": ("file.name", "str"),
               "protocol": ("network.protocol", "str")},
    "RT_AAMW": {"hostname": ("source.domain", "str"),
                "http_host": ("url.domain", "str")},
    "RT_SECINTEL": {"hostname": ("source.domain", "str"),
                    "http_host": ("url.domain", "str")},
}
_SCREENS: Final = frozenset(
    f"RT_SCREEN_{k}{ls}" for k in ("TCP", "UDP", "ICMP", "IP", "TCP_DST_IP", "TCP_SRC_IP")
    for ls in ("", "_LS"))
_IDP_ALERTS: Final = frozenset(f"IDP_{k}{ls}" for k in (
    "ATTACK_LOG_EVENT", "APPDDOS_APP_STATE_EVENT", "APPDDOS_APP_ATTACK_EVENT")
    for ls in ("", "_LS"))
_UTM_ALERTS: Final = {f"{k}{ls}": action for k, action in (
    ("AV_VIRUS_DETECTED_MT", "virus_detected"), ("WEBFILTER_URL_BLOCKED", "web_filter"),
    ("ANTISPAM_SPAM_DETECTED_MT", "antispam_filter"),
    ("CONTENT_FILTERING_BLOCKED_MT", "content_filter")) for ls in ("", "_LS")}
_ATP_TAGS: Final = frozenset({"SRX_AAMW_ACTION_LOG", "AAMW_MALWARE_EVENT_LOG",
                              "AAMW_HOST_INFECTED_EVENT_LOG", "AAMW_ACTION_LOG"})
_SCREEN_ACTIONS: Final = {
    "ICMP flood!": "flood_detected", "UDP flood!": "flood_detected",
    "SYN flood!": "flood_detected", "SYN flood Src-IP based!": "flood_detected",
    "SYN flood Dst-IP based!": "flood_detected", "TCP port scan!": "scan_detected",
    "TCP sweep!": "sweep_detected", "IP sweep!": "sweep_detected",
    "UDP sweep!": "sweep_detected", "Address sweep!": "sweep_detected",
    "ICMP fragment!": "fragment_detected", "SYN fragment!": "fragment_detected",
    "IP spoofing!": "spoofing_detected", "Src IP session limit!": "session_limit_detected",
    "Dst IP session limit!": "session_limit_detected", "Land attack!": "attack_detected",
    "WinNuke attack!": "attack_detected", "No TCP flag!": "illegal_tcp_flag_detected",
    "SYN and FIN bits!": "illegal_tcp_flag_detected",
    "FIN but no ACK bit!": "illegal_tcp_flag_detected",
}
_DENIED: Final = ("info", "denied", "connection")
_ALLOWED: Final = ("allowed", "connection")


class JuniperSrxParser(BaseParser):
    """SRX: ``<14>1 2019-11-14T09:37:51.184+01:00 host RT_FLOW - RT_FLOW_SESSION_CREATE [...]``."""

    id = "juniper.srx"
    syslog_programs: tuple[str, ...] = ("RT_FLOW", "RT_IDP", "RT_IDS", "RT_UTM", "RT_AAMW",
                                        "RT_SECINTEL")
    route_signals: tuple[str, ...] = (" [junos@",)
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        # Other Junos processes (mgd, sshd...) write structured data too: juniper.junos's.
        text = raw.message
        return "[junos@" in text and " RT_" in text[:160]

    def parse(self, raw: RawEvent) -> Event:
        m = _HEADER.match(raw.message)
        if not m:
            raise ParseError(self.id, "not an SRX structured-data syslog record")
        pri, stamp_text, host, process, tag, body = m.groups()
        text = _WITH_TEXT.match(body)
        if text is not None:  # the parameters, then "] session created ..."
            body = text.group(1)
        try:
            stamp = datetime.fromisoformat(stamp_text.replace("Z", "+00:00"))
        except ValueError:
            raise ParseError(self.id, f"bad timestamp {stamp_text!r}") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=self.options.tz)
        kv = {k.replace("-", "_"): v for k, v in parse_kv(body).items() if v not in _EMPTY}
        event = self.new_event(raw)
        event["@timestamp"] = iso(stamp)
        if pri is not None:
            severity = int(pri)
            put(event, "event.severity", severity)
            if severity < 192:
                put(event, "log.level", _LEVELS[severity % 8])
        put(event, "observer", {"vendor": "Juniper", "product": "SRX", "type": "firewall",
                                "name": host})
        duration = to_int(kv.get("elapsed_time") or kv.get("duration"))
        if duration is not None:
            put(event, "event.duration", duration * 1_000_000_000)
            put(event, "event.start", iso(stamp))
            put(event, "event.end", iso(stamp + timedelta(seconds=duration)))
        put(event, "event.kind", "event")
        put(event, "event.outcome", "success")
        append(event, "event.category", "network")
        apply_map(event, kv, PER_PROCESS.get(process, {}))
        apply_map(event, kv, COMMON)
        classify = _CLASSIFIERS.get(process)
        if classify is not None:
            classify(event, kv, tag)
        self._mirror(event)
        src_packets, dst_packets = get(event, "source.packets"), get(event, "destination.packets")
        if isinstance(src_packets, int) and isinstance(dst_packets, int):
            put(event, "network.packets", src_packets + dst_packets)
        finish_network(event, nat_related=True)
        add_related(event, "user", get(event, "source.user.name"))
        domain = get(event, "url.domain")
        # UTM writes a whole URL into "url"; only a bare host name is a related host.
        add_related(event, "hosts", domain if domain and "/" not in domain else None,
                    get(event, "source.domain"),
                    get(event, "file.name") if process == "RT_UTM" else None)
        vendor = dict(kv)
        vendor["process"] = process
        vendor["tag"] = tag
        put(event, "juniper.srx", vendor)
        return event

    def _mirror(self, event: Event) -> None:
        for side, role in (("source", "client"), ("destination", "server")):
            values = event.get(side)
            if not isinstance(values, dict):
                continue
            copy = {k: values[k] for k in ("ip", "port", "bytes", "packets") if k in values}
            nat = values.get("nat")
            if isinstance(nat, dict) and "port" in nat:
                copy["nat"] = {"port": nat["port"]}
            if copy:
                event[role] = copy


def _flow(event: Event, kv: dict[str, str], tag: str) -> None:
    if tag.endswith(("CREATE", "UPDATE", "CREATE_LS", "UPDATE_LS")):
        append(event, "event.type", "start", *_ALLOWED)
        put(event, "event.action", "flow_started")
    elif tag.endswith(("CLOSE", "CLOSE_LS")):
        append(event, "event.type", "end", *_ALLOWED)
        put(event, "event.action", "flow_close")
    elif tag.endswith(("DENY", "DENY_LS")):
        append(event, "event.type", "denied", "connection")
        put(event, "event.action", "flow_deny")


def _ids(event: Event, kv: dict[str, str], tag: str) -> None:
    if tag in _SCREENS:
        put(event, "event.kind", "alert")
        append(event, "event.category", "intrusion_detection")
        append(event, "event.type", *_DENIED)
    else:
        append(event, "event.type", *_ALLOWED)
    attack = kv.get("attack_name", "")
    action = _SCREEN_ACTIONS.get(attack)
    if action is None and attack.startswith("Tunnel"):
        action = "tunneling_screen"
    put(event, "event.action", action)


def _idp(event: Event, kv: dict[str, str], tag: str) -> None:
    if tag in _IDP_ALERTS:
        put(event, "event.kind", "alert")
        append(event, "event.category", "intrusion_detection")
        append(event, "event.type", *_DENIED)
        put(event, "event.action",
            "security_threat" if "ATTACK_LOG" in tag else "application_ddos")
    else:
        append(event, "event.type", *_ALLOWED)


def _utm(event: Event, kv: dict[str, str], tag: str) -> None:
    action = _UTM_ALERTS.get(tag)
    if action:
        put(event, "event.kind", "alert")
        append(event, "event.category", "malware")
        append(event, "event.type", *_DENIED)
        put(event, "event.action", action)
    else:
        append(event, "event.type", *_ALLOWED)


def _atp(event: Event, kv: dict[str, str], tag: str) -> None:
    action = kv.get("action")
    if tag in _ATP_TAGS and action != "PERMIT":
        put(event, "event.kind", "alert")
        append(event, "event.category", "malware")
    if action == "BLOCK" or tag == "AAMW_MALWARE_EVENT_LOG":
        append(event, "event.type", *_DENIED)
        put(event, "event.action", "malware_detected")
    else:
        append(event, "event.type", *_ALLOWED)


def _secintel(event: Event, kv: dict[str, str], tag: str) -> None:
    action = kv.get("action")
    if tag == "SECINTEL_ACTION_LOG" and action != "PERMIT":
        put(event, "event.kind", "alert")
        append(event, "event.category", "malware")
    if action == "BLOCK":
        append(event, "event.type", *_DENIED)
        put(event, "event.action", "malware_detected")
    else:
        append(event, "event.type", *_ALLOWED)


_CLASSIFIERS: Final = {"RT_FLOW": _flow, "RT_IDS": _ids, "RT_IDP": _idp, "RT_UTM": _utm,
                       "RT_AAMW": _atp, "RT_SECINTEL": _secintel}
