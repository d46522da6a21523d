"""Palo Alto Networks PAN-OS syslog (CSV) to ECS: dataset ``panw.panos``.

PAN-OS writes one comma-separated record per log, the log type in column 3. Column
positions follow the PAN-OS syslog field descriptions (TRAFFIC, THREAT, GLOBALPROTECT,
USERID, HIPMATCH) as Elastic's Filebeat ``panw/panos`` module maps them; other types
(SYSTEM, CONFIG...) keep the common header only.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

from parsers.base import BaseParser
from parsers.community_id import PROTOCOLS as TRANSPORT_NUMBERS
from parsers.community_id import community_id
from parsers.firewall._common import (
    UNSPECIFIED_V4,
    append,
    dig,
    get,
    iso,
    local_time,
    put,
    set_community_id,
    to_int,
    tz_from_offset,
)
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

# (column, ECS paths, kind) per log type; "int" columns are cast.
Columns = tuple[tuple[int, tuple[str, ...], str], ...]

_FLOW: Final[Columns] = (
    (7, ("client.ip", "source.ip", "source.address"), "str"),
    (8, ("server.ip", "destination.ip", "destination.address"), "str"),
    (9, ("source.nat.ip", "client.nat.ip"), "str"),
    (10, ("destination.nat.ip", "server.nat.ip"), "str"),
    (11, ("panw.panos.ruleset", "rule.name"), "str"),
    (13, ("server.user.name", "destination.user.name"), "str"),
    (14, ("network.application",), "str"),
    (15, ("panw.panos.virtual_sys",), "str"),
    (16, ("panw.panos.source.zone", "observer.ingress.zone"), "str"),
    (17, ("panw.panos.destination.zone", "observer.egress.zone"), "str"),
    (18, ("panw.panos.source.interface", "observer.ingress.interface.name"), "str"),
    (19, ("panw.panos.destination.interface", "observer.egress.interface.name"), "str"),
    (22, ("panw.panos.flow_id",), "str"),
    (24, ("client.port", "source.port"), "int"),
    (25, ("destination.port", "server.port"), "int"),
    (26, ("source.nat.port", "client.nat.port"), "int"),
    (27, ("destination.nat.port", "server.nat.port"), "int"),
    (29, ("network.transport",), "str"),
    (30, ("panw.panos.action",), "str"),
)
TRAFFIC: Final[Columns] = (
    *_FLOW,
    (31, ("network.bytes",), "int"),
    (32, ("client.bytes", "source.bytes"), "int"),
    (33, ("server.bytes", "destination.bytes"), "int"),
    (34, ("network.packets",), "int"),
    (37, ("panw.panos.url.category",), "str"),
    (39, ("panw.panos.sequence_number",), "int"),
    (44, ("client.packets", "source.packets"), "int"),
    (45, ("server.packets", "destination.packets"), "int"),
    (46, ("panw.panos.endreason",), "str"),
    (52, ("observer.hostname",), "str"),
)
THREAT: Final[Columns] = (
    *_FLOW,
    (31, ("panw.panos.threat.resource", "url.original"), "str"),
    (32, ("panw.panos.threat.name",), "str"),
    (33, ("panw.panos.url.category",), "str"),
    (34, ("log.level",), "str"),
    (42, ("panw.panos.network.pcap_id",), "str"),
    (43, ("panw.panos.file.hash",), "str"),
    (46, ("user_agent.original",), "str"),
    (47, ("file.type",), "str"),
    (48, ("network.forwarded_ip",), "str"),
    (49, ("http.request.referer",), "str"),
    (50, ("source.user.email",), "str"),
    (51, ("panw.panos.subject",), "str"),
    (52, ("destination.user.email",), "str"),
    (59, ("observer.hostname",), "str"),
)
GLOBALPROTECT: Final[Columns] = (
    (7, ("panw.panos.virtual_sys",), "str"),
    (8, ("event.code",), "str"),
    (9, ("panw.panos.stage",), "str"),
    (10, ("panw.panos.auth_method",), "str"),
    (11, ("panw.panos.tunnel_type",), "str"),
    (14, ("host.name",), "str"),
    (15, ("source.nat.ip", "client.nat.ip"), "str"),
    (17, ("host.ip", "source.ip", "client.ip", "source.address", "client.address"), "str"),
    (19, ("host.id",), "str"),
    (20, ("panw.panos.serial_number",), "str"),
    (21, ("panw.panos.client_ver",), "str"),
    (22, ("host.os.family",), "str"),
    (23, ("host.os.full",), "str"),
    (24, ("panw.panos.repeatcnt",), "str"),
    (25, ("event.reason",), "str"),
    (26, ("panw.panos.error",), "str"),
    (27, ("panw.panos.description",), "str"),
    (28, ("event.outcome",), "str"),
    (30, ("event.duration",), "int"),
    (31, ("panw.panos.connect_method",), "str"),
    (32, ("panw.panos.error_code",), "str"),
    (33, ("observer.hostname",), "str"),
    (34, ("panw.panos.sequence_number",), "int"),
)
USERID: Final[Columns] = (
    (7, ("panw.panos.virtual_sys",), "str"),
    (8, ("client.ip", "source.ip", "source.address"), "str"),
    (10, ("panw.panos.datasourcename",), "str"),
    (11, ("event.code",), "str"),
    (12, ("panw.panos.repeatcnt",), "str"),
    (13, ("panw.panos.timeout",), "str"),
    (14, ("source.port", "client.port"), "int"),
    (15, ("destination.port", "server.port"), "int"),
    (16, ("panw.panos.datasource",), "str"),
    (17, ("panw.panos.datasourcetype",), "str"),
    (18, ("panw.panos.sequence_number",), "int"),
    (25, ("observer.hostname",), "str"),
)
HIPMATCH: Final[Columns] = (
    (8, ("panw.panos.virtual_sys",), "str"),
    (9, ("host.name",), "str"),
    (10, ("host.os.full",), "str"),
    (11, ("client.ip", "source.ip", "source.address"), "str"),
    (12, ("panw.panos.hip.match_name",), "str"),
    (24, ("observer.hostname",), "str"),
    (27, ("host.id",), "str"),
)
# Column of the (possibly DOMAIN\user) user name per type.
_USER_COLUMN: Final = {"TRAFFIC": 12, "THREAT": 12, "GLOBALPROTECT": 12, "USERID": 9,
                       "HIPMATCH": 7}
_TABLES: Final = {"TRAFFIC": TRAFFIC, "THREAT": THREAT, "GLOBALPROTECT": GLOBALPROTECT,
                  "USERID": USERID, "HIPMATCH": HIPMATCH}
_FLAGS: Final = {
    "pcap_included": 0x80000000, "ipv6_session": 0x02000000, "ssl_decrypted": 0x01000000,
    "url_filter_denied": 0x00800000, "nat_translated": 0x00400000,
    "captive_portal": 0x00200000, "x_forwarded_for": 0x00080000, "http_proxy": 0x00040000,
    "container_page": 0x00008000, "temporary_match": 0x00002000,
    "symmetric_return": 0x00000800,
}
# The tables with each ECS path split once into (parents, leaf), for the per-record loop.
_COMPILED: Final = {
    log_type: tuple((index, tuple((tuple(path.split(".")[:-1]), path.rsplit(".", 1)[-1])
                                  for path in paths), kind)
                    for index, paths, kind in table)
    for log_type, table in _TABLES.items()
}
# Characters the csv module treats specially (quoting, line ends, NUL): a line with none
# of them is split on commas directly, a tenth of the cost of a csv.reader.
_CSV_SPECIAL: Final = frozenset('"\r\n\x00')
_ALLOWED: Final = frozenset({"alert", "allow", "continue"})
_DENIED: Final = frozenset({"deny", "drop", "reset-client", "reset-server", "reset-both",
                            "block-url", "block-ip", "random-drop", "sinkhole", "block"})
_SUBTYPE_ACTION: Final = {
    "start": "flow_started", "end": "flow_terminated", "drop": "flow_dropped",
    "deny": "flow_denied", "data": "data_match", "file": "file_match",
    "flood": "flood_detected", "packet": "packet_attack", "scan": "scan_detected",
    "spyware": "spyware_detected", "url": "url_filtering", "virus": "virus_detected",
    "vulnerability": "exploit_detected", "wildfire": "wildfire_verdict",
    "wildfire-virus": "wildfire_virus_detected",
}
_SUBTYPE_TYPES: Final = {"start": ("start", "connection"), "end": ("end", "connection"),
                         "drop": ("denied", "connection"), "deny": ("denied", "connection")}
_SEVERITY: Final = {"critical": 1, "high": 2, "medium": 3, "low": 4, "informational": 5}
_URL: Final = re.compile(
    r"^(?:(?P<scheme>.*?)://)?(?:(?P<username>[^:@/]*)(?::(?P<password>[^@]*))?@)?"
    r"(?P<domain>[^/?#:]*)(?::(?P<port>\d+))?(?P<path>[^?#]*)?(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?$"
)
_ISO_TZ: Final = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:?\d{2}(?::?\d{2}(?:\.\d+)?)?"
                            r"(Z|[+-]\d{2}:?\d{2})")
# Default zones of the Filebeat module (``internal_zones``/``external_zones``).
INTERNAL_ZONES: Final = frozenset({"trust"})
EXTERNAL_ZONES: Final = frozenset({"untrust"})


class PanosParser(BaseParser):
    """PAN-OS CSV syslog: ``<hdr> 1,2018/11/30 16:09:07,<serial>,TRAFFIC,end,...``."""

    id = "panw.panos"
    syslog_programs: tuple[str, ...] = ()
    route_signals: tuple[str, ...] = (",TRAFFIC,", ",THREAT,", ",GLOBALPROTECT,", ",USERID,",
                                      ",SYSTEM,", ",CONFIG,", ",HIPMATCH,")
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        return any(sig in raw.message for sig in self.route_signals)

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        if text and not _CSV_SPECIAL.intersection(text):
            cols = text.split(",")  # what the csv module returns for a line without them
        else:
            try:
                cols = next(csv.reader([text]))
            except (csv.Error, StopIteration):
                raise ParseError(self.id, "not a CSV record") from None
        if len(cols) < 4 or not cols[3].isupper() or not cols[3].isalpha():
            raise ParseError(self.id, "not a PAN-OS record (no log type in column 4)")
        if not any(ch.isdigit() for ch in cols[1]):
            raise ParseError(self.id, "not a PAN-OS record (no receive time in column 2)")
        cols += [""] * (7 - len(cols))
        log_type, sub_type = cols[3], cols[4]
        event = self.new_event(raw)
        tz = self._zone(cols[0])
        # The generated time, else the receive time; a record with neither readable keeps
        # the time it was received here (the record is still worth keeping).
        generated = _time(cols[6], tz) or _time(cols[1], tz)
        if generated is not None:
            event["@timestamp"] = iso(generated)
        put(event, "observer", {"vendor": "Palo Alto Networks", "product": "PAN-OS",
                                "type": "firewall"})
        put(event, "observer.serial_number", cols[2])
        put(event, "panw.panos.type", log_type)
        put(event, "panw.panos.sub_type", sub_type)
        n = len(cols)
        for index, paths, kind in _COMPILED.get(log_type, ()):
            if index >= n or not cols[index]:
                continue
            value: Any = cols[index]
            if kind == "int":
                value = to_int(value)
                if value is None:
                    continue
            for parents, leaf in paths:
                cur = event
                for part in parents:
                    nxt = cur.get(part)
                    if nxt is None:
                        nxt = cur[part] = {}
                    cur = nxt
                cur[leaf] = value
        if log_type == "TRAFFIC" and n > 35:
            start = _time(cols[35], tz)
            if start is not None:
                put(event, "event.start", iso(start))
            duration = to_int(cols[36]) if n > 36 else None
            if duration is not None:
                put(event, "event.duration", duration)
        if log_type == "GLOBALPROTECT" and n > 18:
            # IPv6-only tunnels leave the IPv4 columns empty and fill 16 and 18.
            if not cols[15] and cols[16]:
                put(event, "source.nat.ip", cols[16])
            if not cols[17] and cols[18]:
                put(event, "source.ip", cols[18])
        if log_type == "USERID":
            put(event, "event.action", sub_type)
        self._user(event, cols, log_type)
        if n > 28 and log_type in ("TRAFFIC", "THREAT"):
            self._labels(event, cols[28])
        duration = get(event, "event.duration")
        if isinstance(duration, int):
            event["event"]["duration"] = duration * 1_000_000_000
            start_text = get(event, "event.start")
            if start_text:
                end = datetime.fromisoformat(start_text.replace("Z", "+00:00"))
                put(event, "event.end", iso(end + timedelta(seconds=duration)))
        self._flow_ids(event)
        if log_type == "TRAFFIC":
            self._traffic(event)
        elif log_type == "THREAT":
            self._threat(event, cols)
        elif log_type in ("GLOBALPROTECT", "USERID", "HIPMATCH"):
            _network_type(event)
        self._outcome(event, sub_type)
        self._urls(event, sub_type)
        self._related(event)
        return event

    def _zone(self, header: str) -> tzinfo:
        # An RFC 5424 header carries the sender's offset; use it for the local stamps.
        m = _ISO_TZ.search(header)
        if m:
            if m.group(1) == "Z":
                return tz_from_offset("+00:00") or self.options.tz
            return tz_from_offset(m.group(1)) or self.options.tz
        return self.options.tz

    def _user(self, event: Event, cols: list[str], log_type: str) -> None:
        index = _USER_COLUMN.get(log_type)
        if index is None or index >= len(cols) or not cols[index]:
            return
        user = cols[index]
        if "\\" in user:
            domain, _, name = user.rpartition("\\")
        else:
            name, _, domain = user.partition("@")
        put(event, "user.name", name)
        put(event, "source.user.name", name)
        put(event, "client.user.name", name)
        if domain:
            put(event, "user.domain", domain)
            put(event, "source.user.domain", domain)

    def _labels(self, event: Event, flags_text: str) -> None:
        try:
            flags = int(flags_text, 16)
        except ValueError:
            return
        for name, bit in _FLAGS.items():
            if flags & bit:
                put(event, f"labels.{name}", True)

    def _flow_ids(self, event: Event) -> None:
        set_community_id(event)
        src_nat, dst_nat = get(event, "source.nat") or {}, get(event, "destination.nat") or {}
        transport = get(event, "network.transport")
        proto = TRANSPORT_NUMBERS.get(transport) if isinstance(transport, str) else None
        translated = not any(n.get("ip") == UNSPECIFIED_V4 and n.get("port") == 0
                             for n in (src_nat, dst_nat))
        if src_nat.get("ip") and dst_nat.get("ip") and proto is not None and translated:
            if proto in (1, 58):
                nat_id = community_id(src_nat["ip"], dst_nat["ip"], 0, 0, proto)
            else:
                nat_id = community_id(src_nat["ip"], dst_nat["ip"], src_nat.get("port"),
                                      dst_nat.get("port"), proto)
            if nat_id:
                put(event, "panw.panos.network.nat.community_id", nat_id)
                first = get(event, "network.community_id")
                ids = [first] if first else []
                if nat_id not in ids:
                    ids.append(nat_id)
                put(event, "network.community_id", ids[0] if len(ids) == 1 else ids)

    def _traffic(self, event: Event) -> None:
        ingress, egress = get(event, "observer.ingress.zone"), get(event, "observer.egress.zone")
        if ingress in EXTERNAL_ZONES and egress in INTERNAL_ZONES:
            direction = "inbound"
        elif ingress in INTERNAL_ZONES and egress in EXTERNAL_ZONES:
            direction = "outbound"
        elif ingress in INTERNAL_ZONES and egress in INTERNAL_ZONES:
            direction = "internal"
        elif ingress in EXTERNAL_ZONES and egress in EXTERNAL_ZONES:
            direction = "external"
        else:
            direction = "unknown"
        put(event, "network.direction", direction)
        put(event, "network.type", "ipv6" if get(event, "labels.ipv6_session") else "ipv4")
        put(event, "event.kind", "event")
        append(event, "event.category", "network")

    def _threat(self, event: Event, cols: list[str]) -> None:
        direction = cols[35] if len(cols) > 35 else ""
        if direction in ("0", "client-to-server"):
            put(event, "network.direction", "inbound")
        elif direction in ("1", "server-to-client"):
            put(event, "network.direction", "outbound")
        else:
            put(event, "network.direction", "unknown")
        put(event, "event.kind", "alert")
        append(event, "event.category", "security_threat", "intrusion_detection", "network")
        name = get(event, "panw.panos.threat.name")
        if isinstance(name, str) and name.endswith(")") and "(" in name:
            title, _, ident = name[:-1].rpartition("(")
            put(event, "panw.panos.threat.id", ident.strip())
            event["panw"]["panos"]["threat"]["name"] = title
            if ident.strip() == "9999":
                event["panw"]["panos"]["threat"]["name"] = "URL-filtering"
        level = get(event, "log.level")
        if level in _SEVERITY:
            put(event, "event.severity", _SEVERITY[level])
        if get(event, "panw.panos.network.pcap_id") == "0":
            del event["panw"]["panos"]["network"]["pcap_id"]

    def _outcome(self, event: Event, sub_type: str) -> None:
        action = get(event, "panw.panos.action")
        if action in _ALLOWED:
            append(event, "event.type", "allowed")
        elif action in _DENIED:
            append(event, "event.type", "denied")
        # Elastic's module reports the log itself as a success even for denied flows.
        if get(event, "event.outcome") is None:
            put(event, "event.outcome", "success")
        if sub_type in _SUBTYPE_ACTION and get(event, "panw.panos.type") in ("TRAFFIC", "THREAT"):
            put(event, "event.action", _SUBTYPE_ACTION[sub_type])
            for t in _SUBTYPE_TYPES.get(sub_type, ()):
                append(event, "event.type", t)
        if isinstance(action, str):
            event["panw"]["panos"]["action"] = action.lower().replace(" ", "-")

    def _urls(self, event: Event, sub_type: str) -> None:
        original = get(event, "url.original")
        if original is not None and sub_type != "url":
            del event["url"]["original"]
            if not event["url"]:
                del event["url"]
            put(event, "file.name", original)
            original = None
        if original and original != "-/":
            m = _URL.match(original)
            if m:
                for part, value in m.groupdict().items():
                    put(event, f"url.{part}", to_int(value) if part == "port" else value)
        path = get(event, "url.path")
        if isinstance(path, str):
            put(event, "url.extension", _extension(path))
        name = get(event, "file.name")
        if isinstance(name, str):
            put(event, "file.extension", _extension(name))

    def _related(self, event: Event) -> None:
        # One add_related per bucket, paths read with the split-once _at (hot path).
        source, destination = event.get("source"), event.get("destination")
        client, server, url = event.get("client"), event.get("server"), event.get("url")
        add_related(event, "ip", dig(source, "ip"), dig(destination, "ip"),
                    dig(source, "nat", "ip"), dig(destination, "nat", "ip"))
        add_related(event, "user", dig(client, "user", "name"), dig(source, "user", "name"),
                    dig(server, "user", "name"), dig(destination, "user", "name"),
                    dig(url, "username"))
        add_related(event, "hash", dig(event, "panw", "panos", "file", "hash"))
        add_related(event, "hosts", dig(event, "observer", "hostname"), dig(url, "domain"),
                    dig(event, "host", "name"))
        related = event.get("related", {})
        for k in [k for k, v in related.items() if not v]:
            del related[k]
        for side in ("source", "destination", "client", "server"):
            nat = dig(event, side, "nat")
            if isinstance(nat, dict) and nat.get("ip") == UNSPECIFIED_V4 and nat.get("port") == 0:
                del event[side]["nat"]
        if not related:
            event.pop("related", None)


def _network_type(event: Event) -> None:
    ip = get(event, "source.ip") or get(event, "host.ip")
    if isinstance(ip, str):
        put(event, "network.type", "ipv6" if ":" in ip else "ipv4")


def _extension(name: str) -> str | None:
    """Text after the last dot, when the name does not start with one (Elastic's grok)."""
    if not name or name[0] == "." or "." not in name:
        return None
    return name.rsplit(".", 1)[1] or None


def _time(text: str, tz: tzinfo) -> datetime | None:
    """``2018/11/30 16:09:07`` (in ``tz``) or an ISO stamp with its own zone."""
    if not text:
        return None
    if "/" in text:
        return local_time(text, tz)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)
