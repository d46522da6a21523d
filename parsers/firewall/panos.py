"""Palo Alto Networks PAN-OS syslog (CSV) to ECS: dataset ``panw.panos``.

PAN-OS writes one comma-separated record per log, the log type in column 3. Column
positions follow the PAN-OS syslog field descriptions (TRAFFIC, THREAT, GLOBALPROTECT,
USERID, HIPMATCH) as Elastic's Filebeat ``panw/panos`` module maps them; other types
(SYSTEM, CONFIG...) keep the common header only.

The column tables are compiled once at import (each ECS path split, its parent object
numbered), and the finishing steps (Community IDs, direction, outcome, ``related.*``)
read the objects the columns filled instead of walking dotted paths: every PAN-OS line
of a deployment goes through here.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from parsers.base import BaseParser
from parsers.community_id import PROTOCOLS as TRANSPORT_NUMBERS
from parsers.firewall._common import (
    UNSPECIFIED_V4,
    ParentSlots,
    get,
    iso,
    local_time,
    ports_community_id,
    put,
    to_int,
    tz_from_offset,
)
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent

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


class _Layout:
    """A log type's columns compiled once: each ECS path becomes (parent slot, leaf), with
    its parent object numbered (see :class:`ParentSlots`)."""

    __slots__ = ("links", "rows")

    def __init__(self, table: Columns) -> None:
        slots = ParentSlots()
        rows: list[tuple[int, tuple[tuple[int, str], ...], bool]] = []
        for index, paths, kind in table:
            targets = []
            for path in paths:
                *parents, leaf = path.split(".")
                targets.append((slots.slot_of(tuple(parents)), leaf))
            rows.append((index, tuple(targets), kind == "int"))
        slots.check_leaves({tuple(path.split(".")) for _, paths, _ in table for path in paths})
        self.links: Final = tuple(slots.links)
        self.rows: Final = tuple(rows)


_COMPILED: Final = {log_type: _Layout(table) for log_type, table in _TABLES.items()}
# Characters the csv module treats specially (quoting, line ends, NUL): a line with none
# of them is split on commas directly, a tenth of the cost of a csv.reader (``parse``
# tests the four with ``in``; a test pins the split to what csv reads).
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
_THREAT_DIRECTION: Final = {"0": "inbound", "client-to-server": "inbound",
                             "1": "outbound", "server-to-client": "outbound"}
_SEVERITY: Final = {"critical": 1, "high": 2, "medium": 3, "low": 4, "informational": 5}
_URL: Final = re.compile(
    r"^(?:(?P<scheme>.*?)://)?(?:(?P<username>[^:@/]*)(?::(?P<password>[^@]*))?@)?"
    r"(?P<domain>[^/?#:]*)(?::(?P<port>\d+))?(?P<path>[^?#]*)?(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?$"
)
# _URL's groups in order, each named as its url.* field.
_URL_PARTS: Final = tuple(_URL.groupindex)
_ISO_TZ: Final = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:?\d{2}(?::?\d{2}(?:\.\d+)?)?"
                            r"(Z|[+-]\d{2}:?\d{2})")
_BLANK: Final = (None, "", "-")
_NOTHING: Final[Mapping[str, Any]] = MappingProxyType({})
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
        cols: list[str] | None = None
        # The _CSV_SPECIAL characters, each searched for in C (a set intersection hashes
        # every character of the line, which cost more than the split itself). Quotes
        # around whole fields (URLs, names) have their own reader; the rest goes to csv.
        if text and "\r" not in text and "\n" not in text and "\x00" not in text:
            if '"' not in text:
                cols = text.split(",")  # what the csv module returns for such a line
            elif len(text) < csv.field_size_limit():  # else csv refuses the record
                cols = _split_quoted(text)
        if cols is None:
            try:
                cols = next(csv.reader([text]))
            except (csv.Error, StopIteration):
                raise ParseError(self.id, "not a CSV record") from None
        if len(cols) < 4 or not cols[3].isupper() or not cols[3].isalpha():
            raise ParseError(self.id, "not a PAN-OS record (no log type in column 4)")
        if not cols[1][:1].isdecimal() and not any(ch.isdecimal() for ch in cols[1]):
            raise ParseError(self.id, "not a PAN-OS record (no receive time in column 2)")
        if len(cols) < 7:
            cols += [""] * (7 - len(cols))
        log_type, sub_type = cols[3], cols[4]
        event = self.new_event(raw)
        tz = self._zone(cols[0])
        # The generated time, else the receive time; a record with neither readable keeps
        # the time it was received here (the record is still worth keeping).
        stamp = _stamp(cols[6], tz) or _stamp(cols[1], tz)
        if stamp is not None:
            event["@timestamp"] = stamp
        observer = event["observer"] = {"vendor": "Palo Alto Networks", "product": "PAN-OS",
                                        "type": "firewall"}
        if cols[2]:
            observer["serial_number"] = cols[2]
        panos: dict[str, Any] = {"type": log_type}  # never empty: checked upper case above
        if sub_type:
            panos["sub_type"] = sub_type
        event["panw"] = {"panos": panos}
        n = len(cols)
        layout = _COMPILED.get(log_type)
        if layout is not None:
            _map_columns(event, cols, layout)
        ev: dict[str, Any] = event["event"]
        start: datetime | None = None
        if log_type == "TRAFFIC" and n > 35:
            start = _time(cols[35], tz)
            if start is not None:
                ev["start"] = iso(start)
            duration = to_int(cols[36]) if n > 36 else None
            if duration is not None:
                ev["duration"] = duration
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
        duration = ev.get("duration")
        if isinstance(duration, int):
            ev["duration"] = duration * 1_000_000_000
            if start is not None:  # event.start is set from it, and only from it
                ev["end"] = iso(start.astimezone(UTC) + timedelta(seconds=duration))
        self._flow_ids(event)
        if log_type == "TRAFFIC":
            self._traffic(event, ev)
        elif log_type == "THREAT":
            self._threat(event, ev, cols)
        elif log_type in ("GLOBALPROTECT", "USERID", "HIPMATCH"):
            _network_type(event)
        self._outcome(event, ev, sub_type)
        self._urls(event, sub_type)
        self._related(event)
        return event

    def _zone(self, header: str) -> tzinfo:
        # An RFC 5424 header carries the sender's offset; use it for the local stamps.
        # (_ISO_TZ needs a "-" in the date: a BSD header skips the search.)
        m = _ISO_TZ.search(header) if "-" in header else None
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
        if name:
            _child(event, "user")["name"] = name
            _child(_child(event, "source"), "user")["name"] = name
            _child(_child(event, "client"), "user")["name"] = name
        if domain:
            _child(event, "user")["domain"] = domain
            _child(_child(event, "source"), "user")["domain"] = domain

    def _labels(self, event: Event, flags_text: str) -> None:
        flags = _flag_labels(flags_text)
        if flags:
            labels = event.get("labels")
            if isinstance(labels, dict):
                labels.update(flags)
            else:
                event["labels"] = dict(flags)  # a copy: the cached mapping is shared

    def _flow_ids(self, event: Event) -> None:
        # The shared set_community_id, then the ID of the translated flow, reading the
        # objects once. The columns give addresses as text and ports as ints (what
        # flow_community_id's to_int calls return for them), and no column fills icmp.*
        # (its type and code hash as 0): ports_community_id serves both IDs.
        net: dict[str, Any] | None = event.get("network")
        src: Mapping[str, Any] = event.get("source") or _NOTHING
        dst: Mapping[str, Any] = event.get("destination") or _NOTHING
        transport = net.get("transport") if net is not None else None
        proto: int | None = None
        if isinstance(transport, str):
            proto = TRANSPORT_NUMBERS.get(transport.lower())
        if proto is None and net is not None:
            proto = to_int(net.get("iana_number"))
        sip, dip = src.get("ip"), dst.get("ip")
        cid: str | None = None
        if proto is not None and isinstance(sip, str) and isinstance(dip, str):
            cid = ports_community_id(sip, dip, src.get("port"), dst.get("port"), proto)
            if cid:
                if net is None:
                    net = event["network"] = {}
                net["community_id"] = cid
        src_nat: Mapping[str, Any] | None = src.get("nat")
        dst_nat: Mapping[str, Any] | None = dst.get("nat")
        if src_nat is None or dst_nat is None or not isinstance(transport, str):
            return  # no translated flow to hash
        nat_proto = TRANSPORT_NUMBERS.get(transport)
        src_nat_ip, dst_nat_ip = src_nat.get("ip"), dst_nat.get("ip")
        src_nat_port, dst_nat_port = src_nat.get("port"), dst_nat.get("port")
        translated = not (
            (src_nat_ip == UNSPECIFIED_V4 and src_nat_port == 0)
            or (dst_nat_ip == UNSPECIFIED_V4 and dst_nat_port == 0))
        if src_nat_ip and dst_nat_ip and nat_proto is not None and translated:
            nat_id = ports_community_id(src_nat_ip, dst_nat_ip, src_nat_port, dst_nat_port, nat_proto)
            if nat_id:
                panos = event["panw"]["panos"]
                _child(_child(panos, "network"), "nat")["community_id"] = nat_id
                ids = [cid] if cid else []
                if nat_id not in ids:
                    ids.append(nat_id)
                _child(event, "network")["community_id"] = ids[0] if len(ids) == 1 else ids

    def _traffic(self, event: Event, ev: dict[str, Any]) -> None:
        observer = event["observer"]
        ingress = (observer.get("ingress") or _NOTHING).get("zone")
        egress = (observer.get("egress") or _NOTHING).get("zone")
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
        net = _child(event, "network")
        net["direction"] = direction
        ipv6 = (event.get("labels") or _NOTHING).get("ipv6_session")
        net["type"] = "ipv6" if ipv6 else "ipv4"
        ev["kind"] = "event"
        if "category" not in ev:  # the usual case: no column fills event.category
            ev["category"] = ["network"]
        else:
            _append(ev, "category", "network")

    def _threat(self, event: Event, ev: dict[str, Any], cols: list[str]) -> None:
        direction = cols[35] if len(cols) > 35 else ""
        _child(event, "network")["direction"] = _THREAT_DIRECTION.get(direction, "unknown")
        ev["kind"] = "alert"
        if "category" not in ev:  # the usual case: no column fills event.category
            ev["category"] = ["security_threat", "intrusion_detection", "network"]
        else:
            _append(ev, "category", "security_threat", "intrusion_detection", "network")
        panos: dict[str, Any] = event["panw"]["panos"]
        threat: dict[str, Any] | None = panos.get("threat")
        name = threat.get("name") if threat is not None else None
        if threat is not None and isinstance(name, str) and name.endswith(")") and "(" in name:
            title, _, ident = name[:-1].rpartition("(")
            ident = ident.strip()
            if ident:
                threat["id"] = ident
            threat["name"] = "URL-filtering" if ident == "9999" else title
        level = (event.get("log") or _NOTHING).get("level")
        if level in _SEVERITY:
            ev["severity"] = _SEVERITY[level]
        network = panos.get("network")
        if network is not None and network.get("pcap_id") == "0":
            del network["pcap_id"]

    def _outcome(self, event: Event, ev: dict[str, Any], sub_type: str) -> None:
        panos: dict[str, Any] = event["panw"]["panos"]  # holds the log type at least
        action = panos.get("action")
        if action in _ALLOWED:
            _append(ev, "type", "allowed")
        elif action in _DENIED:
            _append(ev, "type", "denied")
        # Elastic's module reports the log itself as a success even for denied flows.
        if ev.get("outcome") is None:
            ev["outcome"] = "success"
        event_action = _SUBTYPE_ACTION.get(sub_type)
        if event_action is not None and panos["type"] in ("TRAFFIC", "THREAT"):
            ev["action"] = event_action
            types = _SUBTYPE_TYPES.get(sub_type)
            if types:
                _append(ev, "type", *types)
        if isinstance(action, str):
            panos["action"] = _action_name(action)

    def _urls(self, event: Event, sub_type: str) -> None:
        url: dict[str, Any] | None = event.get("url")
        original = url.get("original") if url is not None else None
        if url is not None and original is not None and sub_type != "url":
            del url["original"]
            if not url:
                del event["url"]
            _child(event, "file")["name"] = original  # a column: never empty
            original = None
        if url is not None and original and original != "-/":
            m = _URL.match(original)
            if m:
                for part, value in zip(_URL_PARTS, m.groups(), strict=True):
                    if value:  # put skips None and "" (a port is digits: never falsy text)
                        url[part] = int(value) if part == "port" else value
        url = event.get("url")
        if url is not None:
            path = url.get("path")
            if isinstance(path, str) and (extension := _extension(path)):
                url["extension"] = extension
        file: dict[str, Any] | None = event.get("file")
        if file is not None:
            name = file.get("name")
            if isinstance(name, str) and (extension := _extension(name)):
                file["extension"] = extension

    def _related(self, event: Event) -> None:
        # related.* from the objects in hand; each bucket only when it has a value.
        source: Mapping[str, Any] = event.get("source") or _NOTHING
        destination: Mapping[str, Any] = event.get("destination") or _NOTHING
        client: Mapping[str, Any] = event.get("client") or _NOTHING
        server: Mapping[str, Any] = event.get("server") or _NOTHING
        url: Mapping[str, Any] = event.get("url") or _NOTHING
        src_nat, dst_nat = source.get("nat"), destination.get("nat")
        related: dict[str, list[Any]] = {}
        ips = _fresh((source.get("ip"), destination.get("ip"),
                      src_nat.get("ip") if src_nat is not None else None,
                      dst_nat.get("ip") if dst_nat is not None else None))
        if ips:
            related["ip"] = ips
        # User names sit under these four objects (and url.username): skip the walk
        # when none of them holds a user object (most records).
        client_user, source_user = client.get("user"), source.get("user")
        server_user, destination_user = server.get("user"), destination.get("user")
        if (client_user is not None or source_user is not None or server_user is not None
                or destination_user is not None or "username" in url):
            users = _fresh((client_user.get("name") if client_user is not None else None,
                            source_user.get("name") if source_user is not None else None,
                            server_user.get("name") if server_user is not None else None,
                            destination_user.get("name") if destination_user is not None else None,
                            url.get("username")))
            if users:
                related["user"] = users
        panos_file = event["panw"]["panos"].get("file")
        if panos_file is not None:
            file_hash = panos_file.get("hash")
            if file_hash not in _BLANK:
                related["hash"] = [file_hash]
        host = event.get("host")
        hosts = _fresh((event["observer"].get("hostname"), url.get("domain"),
                        host.get("name") if host is not None else None))
        if hosts:
            related["hosts"] = hosts
        if related:
            event["related"] = related
        # A NAT of 0.0.0.0 port 0 means "not translated" (still counted in related.ip).
        for side in ("source", "destination", "client", "server"):
            obj: dict[str, Any] | None = event.get(side)
            if obj is not None:
                nat = obj.get("nat")
                if nat is not None and nat.get("port") == 0 and nat.get("ip") == UNSPECIFIED_V4:
                    del obj["nat"]


def _split_quoted(text: str) -> list[str] | None:
    """What the csv module reads from a line whose quotes all wrap whole fields (``a,"b,c",d``,
    as PAN-OS writes URLs and names), else ``None``.

    Every quote must open right after a comma (or the line start) or close right before
    one (or the line end), and no field may hold a quote or be an empty quoted field: then
    the text between quote pairs is the field, verbatim, and the rest splits on commas."""
    if '""' in text:
        return None
    segments = text.split('"')
    last = len(segments) - 1
    if last % 2:
        return None  # an unclosed quote
    # Each unquoted stretch split on its commas: the empty piece after its last comma is
    # where the next quoted field goes, and the empty piece before its first comma is
    # what is left of the previous quoted field. A stretch without those empty pieces
    # has a quote inside a field. (No slicing of the stretches, no per-field branches.)
    cols = segments[0].split(",")
    if not last:
        return cols  # no quote at all
    if cols[-1]:
        return None
    for i in range(1, last, 2):
        cols[-1] = segments[i]
        pieces = segments[i + 1].split(",")
        if pieces[0] or (i + 1 != last and pieces[-1]):
            return None
        del pieces[0]
        cols += pieces
    return cols


def _map_columns(event: Event, cols: list[str], layout: _Layout) -> None:
    """Copy the non-empty columns to their ECS paths (a later column overwrites)."""
    n = len(cols)
    links = layout.links
    found: list[dict[str, Any] | None] = [None] * len(links)
    found[0] = event
    for index, targets, is_int in layout.rows:
        if index >= n or not cols[index]:
            continue
        value: Any = cols[index]
        if is_int:
            value = int(value) if value.isdecimal() else to_int(value)
            if value is None:
                continue
        for slot, leaf in targets:
            cur = found[slot]
            if cur is None:
                # Inline for the usual case, the parent already found (_found otherwise).
                parent_slot, key = links[slot]
                parent = found[parent_slot]
                if parent is None:
                    parent = _found(event, found, links, parent_slot)
                cur = parent.get(key)
                if cur is None:
                    cur = parent[key] = {}
                found[slot] = cur
            cur[leaf] = value


def _found(event: Event, found: list[dict[str, Any] | None], links: tuple[tuple[int, str], ...],
           slot: int) -> dict[str, Any]:
    # The object of ``slot``, from its parent's (found first when needed), created empty
    # when missing; remembered for the rest of the record.
    parent_slot, key = links[slot]
    parent = found[parent_slot]
    if parent is None:
        parent = _found(event, found, links, parent_slot)
    obj = parent.get(key)
    if obj is None:
        obj = parent[key] = {}
    found[slot] = obj
    return obj


@lru_cache(maxsize=256)
def _action_name(action: str) -> str:
    """``panw.panos.action`` as Elastic writes it (cached: a handful of actions)."""
    return action.lower().replace(" ", "-")


@lru_cache(maxsize=256)
def _flag_labels(flags_text: str) -> Mapping[str, bool]:
    """The ``labels`` set by a flags column, each ``True`` (cached, read-only: devices
    write a few distinct masks)."""
    try:
        flags = int(flags_text, 16)
    except ValueError:
        return _NOTHING
    return MappingProxyType({name: True for name, bit in _FLAGS.items() if flags & bit})


def _child(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]``, made an empty object when missing (how ``put`` walks a path)."""
    obj = parent.get(key)
    if not isinstance(obj, dict):
        obj = parent[key] = {}
    return obj


def _append(obj: dict[str, Any], key: str, *values: str) -> None:
    """The ingest ``append`` (``allow_duplicates: false``) on a field of ``obj``."""
    current = obj.get(key)
    if current is None:
        current = obj[key] = []
    for value in values:
        if value not in current:
            current.append(value)


def _fresh(values: tuple[Any, ...]) -> list[Any]:
    # add_related's filter: no blanks or "-", each value once, in order.
    out: list[Any] = []
    for value in values:
        if value not in _BLANK and value not in out:
            out.append(value)
    return out


def _network_type(event: Event) -> None:
    ip = get(event, "source.ip") or get(event, "host.ip")
    if isinstance(ip, str):
        put(event, "network.type", "ipv6" if ":" in ip else "ipv4")


def _extension(name: str) -> str | None:
    """Text after the last dot, when the name does not start with one (Elastic's grok)."""
    if not name or name[0] == "." or "." not in name:
        return None
    return name.rsplit(".", 1)[1] or None


@lru_cache(maxsize=1024)
def _stamp(text: str, tz: tzinfo) -> str | None:
    """``@timestamp`` text of :func:`_time` (cached: records share their second)."""
    dt = _time(text, tz)
    return None if dt is None else iso(dt)


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
