"""``iptables.log``: netfilter LOG lines (iptables, ip6tables, Ubiquiti EdgeOS) to ECS.

A line is an optional syslog header, an optional log prefix (``iptables DROP_INPUT:``,
``[wan-lan-default-D]``) and ``IN=... OUT=... SRC=...`` tokens. One regex splits header
and prefix. The tokens of the usual TCP/UDP/ICMP-echo line, in the kernel's fixed order,
are then read by one more regex (``_FLOW``); any other line goes through a single
left-to-right pass over the tokens (the meaning of ``LEN``/``ID``/``SEQ``/``ACK`` depends
on where they appear, which a kv map would lose). Both give the same event.
Output follows Filebeat's iptables module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.community_id import community_id
from parsers.community_id import is_ip as _valid_ip
from parsers.syslog import MONTHS, iso_utc, parse_any_header, parse_iso, year_less_stamps
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent

_LINE: Final = re.compile(
    r"(?:(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2}) (?P<hh>\d{2}):(?P<mm>\d{2}):(?P<ss>\d{2}) "
    # rsyslog's RSYSLOG_FileFormat / journald exports: an ISO 8601 stamp instead.
    r"|(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?) )?"
    r"(?:(?P<host>\S+) kernel: )?(?P<prefix>.*?)IN=(?P<body>.*)",
    re.S,
)
# The usual TCP, UDP or ICMP (echo) line over IPv4 or IPv6, as the kernel writes it
# (nf_log_ipv4.c, nf_log_ipv6.c) without IP or TCP options, from just after "IN=": one
# match reads it whole. Every part is a whole token in its fixed place, so _flow() gives
# what the token pass gives; any other line (ICMP errors, options, MARK=, odd spacing)
# takes the token pass.
_FLOW: Final = re.compile(
    r"(?P<in>\S*) OUT=(?P<out>\S*) (?:MAC=(?P<mac>\S*) )?SRC=(?P<src>\S*) DST=(?P<dst>\S*) LEN=(?P<len>[0-9]+)"
    r"(?: TOS=0x(?P<tos>[0-9A-Fa-f]+) PREC=0x(?P<prec>[0-9A-Fa-f]+) TTL=(?P<ttl>[0-9]+) ID=(?P<id>[0-9]+)"
    r" (?P<frag>(?:(?:CE|DF|MF) )*)"
    r"| TC=(?P<tc>[0-9]+) HOPLIMIT=(?P<hoplimit>[0-9]+) FLOWLBL=(?P<flow_label>[0-9]+) )PROTO=(?:"
    r"TCP SPT=(?P<tcp_spt>[0-9]+) DPT=(?P<tcp_dpt>[0-9]+) (?:SEQ=(?P<seq>[0-9]+) ACK=(?P<ack>[0-9]+) )?"
    r"WINDOW=(?P<window>[0-9]+) RES=0x(?P<res>[0-9A-Fa-f]+) (?P<flags>(?:(?:CWR|ECE|URG|ACK|PSH|RST|SYN|FIN) )*)"
    r"URGP=[0-9]+"
    r"|UDP SPT=(?P<udp_spt>[0-9]+) DPT=(?P<udp_dpt>[0-9]+) LEN=(?P<udp_len>[0-9]+)"
    r"|(?P<icmp>ICMP|ICMPv6) TYPE=(?P<type>[0-9]+) CODE=(?P<code>[0-9]+)"
    r"(?: ID=(?P<icmp_id>[0-9]+) SEQ=(?P<icmp_seq>[0-9]+))?"
    r")\s*"
)
_UBIQUITI: Final = re.compile(r"\[(?P<set>[^\]]*)-(?P<num>[^-\]]*)-(?P<act>[^-\]]*)\]$")
_UFW: Final = re.compile(r"\[UFW ([A-Z][A-Z ]*)\]")
_TCP_FLAGS: Final = frozenset({"CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"})
_FRAG_FLAGS: Final = frozenset({"CE", "DF", "MF"})
_ETHER_TYPES: Final = {"08:00": "ipv4", "86:dd": "ipv6"}
_UBIQUITI_ACTIONS: Final = {"D": "drop", "A": "accept", "R": "reject"}
_DENIED: Final = ("drop", "deny", "reject", "block")
_ALLOWED: Final = ("accept", "allow", "pass")
_PROTOCOL_NUMBERS: Final[dict[str | None, int]] = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58}
_NO: Final[dict[str, Any]] = {}  # read-only default for .get chains: never written to


def _hex(value: str) -> int | None:
    text = value[2:] if value[:2].lower() == "0x" else value
    try:
        return int(text, 16)
    except ValueError:
        return None


def _int(value: str) -> int | None:
    return int(value) if value.isdecimal() else None


# Keys whose value lands in one place whatever came before it:
# key -> (object under iptables.*, "" for iptables itself; field name; value reader).
_PLAIN: Final[dict[str, tuple[str, str, Callable[[str], int | str | None]]]] = {
    "TOS": ("", "tos", _hex), "PREC": ("", "precedence_bits", _hex), "TC": ("", "tos", _int),
    "TTL": ("", "ttl", _int), "HOPLIMIT": ("", "ttl", _int), "FLOWLBL": ("", "flow_label", _int),
    "FRAG": ("", "fragment_offset", _int),
    "WINDOW": ("tcp", "window", _int), "RES": ("tcp", "reserved_bits", _hex),
    "PARAMETER": ("icmp", "parameter", _int), "GATEWAY": ("icmp", "redirect", str),
}


def _set_mac(value: str, source: dict[str, Any], destination: dict[str, Any], iptables: dict[str, Any]) -> str | None:
    """Both MACs and the EtherType of ``MAC=`` into their objects; returns ``network.type``."""
    destination_mac, source_mac, ether_type, network_type = _mac(value)
    if destination_mac is not None:
        destination["mac"] = destination_mac
    if source_mac is not None:
        source["mac"] = source_mac
    if ether_type is not None:
        iptables["ether_type"] = ether_type
    return network_type


@lru_cache(maxsize=4096)
def _mac(value: str) -> tuple[str | None, str | None, int | None, str | None]:
    """``MAC=`` as (destination MAC, source MAC, EtherType number, network.type).

    Cached on the text: a firewall sees the same few host pairs over and over.
    """
    parts = value.split(":")
    destination = ":".join(parts[:6]) if len(parts) >= 6 else None
    source = ":".join(parts[6:12]) if len(parts) >= 12 else None
    if len(parts) < 14:
        return destination, source, None, None
    ether = ":".join(parts[12:14])
    return destination, source, _hex(ether.replace(":", "")), _ETHER_TYPES.get(ether.lower())


class IptablesParser(BaseParser):
    """Netfilter LOG target output to ECS ``network``/``source``/``destination`` fields."""

    id = "iptables.log"
    syslog_programs: ClassVar[tuple[str, ...]] = ()
    # "IN=" alone: prefixes end in anything ("DROP(src wan)IN="); accepts() checks SRC=/PROTO=.
    route_signals: ClassVar[tuple[str, ...]] = ("IN=",)

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return "IN=" in text and " SRC=" in text and " PROTO=" in text

    def parse(self, raw: RawEvent) -> Event:
        return parse_any_header(self._parse_bsd, raw, self.options.tz, self.options.clock)

    def _parse_bsd(self, raw: RawEvent) -> Event:
        m = _LINE.match(raw.message)
        if m is None:
            raise ParseError(self.id, "no netfilter fields (IN=... SRC=... DST=...)")
        mon, day, hh, mm, ss, iso, host, prefix, body = m.groups()
        if " SRC=" not in body:
            raise ParseError(self.id, "no netfilter fields (IN=... SRC=... DST=...)")
        event = self.new_event(raw)
        if mon:
            now = self.options.clock.now()
            month = MONTHS.get(mon.lower())
            stamps = () if month is None else year_less_stamps(
                month, int(day), int(hh), int(mm), int(ss), 0, self.options.tz, now.year)
            for ts, text in stamps:
                if ts <= now:  # the latest occurrence not after now, as resolve_year_less
                    event["@timestamp"] = text
                    break
        elif iso:
            stamp = parse_iso(iso, self.options.tz)
            if stamp is not None:
                event["@timestamp"] = iso_utc(stamp)
        if host:
            event["observer"] = {"name": host}
        iptables: dict[str, Any] = {}
        self._prefix(event, iptables, prefix)
        flow = _FLOW.fullmatch(body)
        if flow is not None:
            self._flow(event, iptables, flow)
        else:
            self._tokens(event, iptables, "IN=" + body)
        if "source" not in event or "destination" not in event:
            raise ParseError(self.id, "SRC= or DST= is not an IP address")
        self._finish(event, iptables)
        return event

    @staticmethod
    def _prefix(event: Event, iptables: dict[str, Any], prefix: str) -> None:
        """The LOG prefix: a Ubiquiti ``[set-rule-action]`` label or ``... ACTION:``."""
        label = _UBIQUITI.search(prefix) if prefix.endswith("]") else None
        if label is not None:
            rule_set, number, action = label.group("set"), label.group("num"), label.group("act")
            iptables["ubiquiti"] = {"rule_set": rule_set, "rule_number": number}
            zones = rule_set.split("-")
            if len(zones) == 2:
                iptables["ubiquiti"].update(input_zone=zones[0], output_zone=zones[1])
            if action:
                event["event"]["action"] = _UBIQUITI_ACTIONS.get(action, action.lower())
            return
        ufw = _UFW.search(prefix) if "[UFW " in prefix else None
        if ufw is not None:  # Ubuntu's ufw: "[UFW BLOCK]", "[UFW ALLOW]", "[UFW LIMIT BLOCK]"
            event["event"]["action"] = ufw.group(1).lower()
            return
        words = prefix.split()
        if words and words[-1].endswith(":") and len(words[-1]) > 1:
            # "DROP:", firewalld's "FINAL_REJECT:", Shorewall's "Shorewall:net-fw:DROP:"
            # (chain, then the action last).
            event["event"]["action"] = words[-1][:-1].rsplit(":", 1)[-1].lower()

    @staticmethod
    def _flow(event: Event, iptables: dict[str, Any], m: re.Match[str]) -> None:
        """A :data:`_FLOW` line: the fields in the order the token pass sets them."""
        (input_device, output_device, mac, source_ip, destination_ip, length, tos, precedence, ttl, packet_id,
         frag_flags, traffic_class, hoplimit, flow_label, tcp_source_port, tcp_destination_port, seq, ack, window,
         reserved, tcp_flags, udp_source_port, udp_destination_port, udp_length, icmp_name, icmp_type, icmp_code,
         icmp_id, icmp_seq) = m.groups()
        iptables["input_device"] = input_device
        iptables["output_device"] = output_device
        source: dict[str, Any] = {}
        destination: dict[str, Any] = {}
        network: dict[str, Any] = {}
        if mac is not None:
            network_type = _set_mac(mac, source, destination, iptables)
            if network_type is not None:
                network["type"] = network_type
        source["ip"] = source_ip
        destination["ip"] = destination_ip
        iptables["length"] = int(length)
        if tos is not None:  # IPv4
            iptables["tos"] = int(tos, 16)
            iptables["precedence_bits"] = int(precedence, 16)
            iptables["ttl"] = int(ttl)
            iptables["id"] = int(packet_id)
        else:  # IPv6
            iptables["tos"] = int(traffic_class)
            iptables["ttl"] = int(hoplimit)
            iptables["flow_label"] = int(flow_label)
        if tcp_source_port is not None:
            network["transport"] = "tcp"
            source["port"] = int(tcp_source_port)
            destination["port"] = int(tcp_destination_port)
            tcp: dict[str, Any] = {}
            if seq is not None:
                tcp["seq"] = int(seq)
                tcp["ack"] = int(ack)
            tcp["window"] = int(window)
            tcp["reserved_bits"] = int(reserved, 16)
            if tcp_flags:
                tcp["flags"] = tcp_flags.split()
            iptables["tcp"] = tcp
        elif udp_source_port is not None:
            network["transport"] = "udp"
            source["port"] = int(udp_source_port)
            destination["port"] = int(udp_destination_port)
            iptables["udp"] = {"length": int(udp_length)}
        else:
            network["transport"] = "icmp" if icmp_name == "ICMP" else "ipv6-icmp"
            icmp: dict[str, Any] = {"type": int(icmp_type), "code": int(icmp_code)}
            if icmp_id is not None:
                icmp["id"] = int(icmp_id)
                icmp["seq"] = int(icmp_seq)
            iptables["icmp"] = icmp
        if frag_flags:
            iptables["fragment_flags"] = frag_flags.split()
        event["network"] = network  # no network.* before this: _prefix sets event.action only
        if _valid_ip(source_ip):
            event["source"] = source
        if _valid_ip(destination_ip):
            event["destination"] = destination

    @staticmethod
    def _tokens(event: Event, iptables: dict[str, Any], body: str) -> None:
        # The part in brackets after an ICMP error quotes the offending packet: not this one.
        inner = body.find(" [SRC=")
        if inner >= 0:
            body = body[:inner]
        proto: str | None = None
        seen_type = False
        tcp_flags: list[str] = []
        frag_flags: list[str] = []
        source: dict[str, Any] = {}
        destination: dict[str, Any] = {}
        for token in body.split():
            key, sep, value = token.partition("=")
            if not sep:
                if key in _TCP_FLAGS and proto == "TCP" and "tcp" in iptables:
                    tcp_flags.append(key)
                elif key in _FRAG_FLAGS and proto is None:
                    frag_flags.append(key)
                continue
            plain = _PLAIN.get(key)
            if plain is not None:
                section, name, read = plain
                n = read(value)
                if n is not None:
                    (iptables.setdefault(section, {}) if section else iptables)[name] = n
                continue
            # The keys left depend on what came before them; most frequent first.
            if key == "SRC":
                source["ip"] = value
            elif key == "DST":
                destination["ip"] = value
            elif key == "IN":
                iptables["input_device"] = value
            elif key == "OUT":
                iptables["output_device"] = value
            elif key == "MAC":
                network_type = _set_mac(value, source, destination, iptables)
                if network_type is not None:
                    event.setdefault("network", {})["type"] = network_type
            elif key == "LEN":
                if value.isdecimal():
                    if proto == "UDP":
                        iptables.setdefault("udp", {})["length"] = int(value)
                    elif proto is None:
                        iptables["length"] = int(value)
            elif key == "ID":
                if value.isdecimal():
                    if seen_type:
                        iptables.setdefault("icmp", {})["id"] = int(value)
                    elif proto is None:
                        iptables["id"] = int(value)
            elif key == "PROTO":
                proto = value.upper()
                transport = value.lower()
                event.setdefault("network", {})["transport"] = "ipv6-icmp" if transport == "icmpv6" else transport
            elif key == "SPT":
                if value.isdecimal():
                    source["port"] = int(value)
            elif key == "DPT":
                if value.isdecimal():
                    destination["port"] = int(value)
            elif key == "TYPE" or key == "CODE":
                if value.isdecimal():
                    iptables.setdefault("icmp", {})[key.lower()] = int(value)
                    seen_type = True
            elif key == "SEQ":
                if value.isdecimal():
                    iptables.setdefault("icmp" if seen_type else "tcp", {})["seq"] = int(value)
            elif key == "ACK" and proto == "TCP" and value.isdecimal():
                iptables.setdefault("tcp", {})["ack"] = int(value)
        if tcp_flags:
            iptables.setdefault("tcp", {})["flags"] = tcp_flags
        if frag_flags:
            iptables["fragment_flags"] = frag_flags
        if _valid_ip(source.get("ip")):
            event["source"] = source
        if _valid_ip(destination.get("ip")):
            event["destination"] = destination

    @staticmethod
    def _finish(event: Event, iptables: dict[str, Any]) -> None:
        ecs = event["event"]
        ecs["category"] = ["network"]
        action = ecs.get("action")
        if action is None:
            ecs["type"] = ["connection"]
        elif action.startswith(_DENIED) or action.endswith(_DENIED):
            ecs["type"] = ["connection", "denied"]
        elif action.startswith(_ALLOWED) or action.endswith(_ALLOWED):
            ecs["type"] = ["connection", "allowed"]
        else:
            ecs["type"] = ["connection"]
        ubiquiti = iptables.get("ubiquiti")
        if ubiquiti:
            observer = event.setdefault("observer", {})
            if ubiquiti.get("output_zone"):
                observer["egress"] = {"zone": ubiquiti["output_zone"]}
            if ubiquiti.get("input_zone"):
                observer["ingress"] = {"zone": ubiquiti["input_zone"]}
            if ubiquiti.get("rule_number"):
                event["rule"] = {"id": ubiquiti["rule_number"]}
            if ubiquiti.get("rule_set"):
                event.setdefault("rule", {})["name"] = ubiquiti["rule_set"]
        event["iptables"] = iptables
        source, destination = event["source"], event["destination"]
        source_ip, destination_ip = source["ip"], destination["ip"]
        # add_related on an event without related.*: both are valid IPs, so never empty.
        event["related"] = {"ip": [source_ip] if source_ip == destination_ip else [source_ip, destination_ip]}
        network = event.get("network", _NO)
        transport = network.get("transport")
        # The protocol number when known: community_id then skips reading the name.
        protocol = _PROTOCOL_NUMBERS.get(transport, transport)
        if transport == "icmp" or transport == "ipv6-icmp":
            icmp = iptables.get("icmp", _NO)
            cid = community_id(source_ip, destination_ip, icmp.get("type"), icmp.get("code"), protocol)
        else:
            cid = community_id(source_ip, destination_ip, source.get("port"), destination.get("port"), protocol)
        if cid is not None:  # so there was a transport, hence a network object
            network["community_id"] = cid
        event["tags"] = ["forwarded", "iptables"]
