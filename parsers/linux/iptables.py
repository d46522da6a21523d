"""``iptables.log``: netfilter LOG lines (iptables, ip6tables, Ubiquiti EdgeOS) to ECS.

A line is an optional syslog header, an optional log prefix (``iptables DROP_INPUT:``,
``[wan-lan-default-D]``) and ``IN=... OUT=... SRC=...`` tokens. One regex splits header
and prefix; the tokens are then read in a single left-to-right pass (the meaning of
``LEN``/``ID``/``SEQ``/``ACK`` depends on where they appear, which a kv map would lose).
Output follows Filebeat's iptables module.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.community_id import community_id
from parsers.community_id import is_ip as _valid_ip
from parsers.syslog import MONTHS, iso_utc, resolve_year_less
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

_LINE: Final = re.compile(
    r"(?:(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2}) (?P<hh>\d{2}):(?P<mm>\d{2}):(?P<ss>\d{2}) )?"
    r"(?:(?P<host>\S+) kernel: )?(?P<prefix>.*?)IN=(?P<body>.*)",
    re.S,
)
_UBIQUITI: Final = re.compile(r"\[(?P<set>[^\]]*)-(?P<num>[^-\]]*)-(?P<act>[^-\]]*)\]$")
_TCP_FLAGS: Final = frozenset({"CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"})
_FRAG_FLAGS: Final = frozenset({"CE", "DF", "MF"})
# Every key _tokens() reads (the others are skipped without walking its branches).
_KEYS: Final = frozenset({
    "IN", "OUT", "MAC", "SRC", "DST", "LEN", "TOS", "PREC", "TC", "TTL", "HOPLIMIT", "FLOWLBL", "ID", "FRAG",
    "PROTO", "SPT", "DPT", "WINDOW", "RES", "SEQ", "ACK", "TYPE", "CODE", "PARAMETER", "GATEWAY",
})
_ETHER_TYPES: Final = {"08:00": "ipv4", "86:dd": "ipv6"}
_UBIQUITI_ACTIONS: Final = {"D": "drop", "A": "accept", "R": "reject"}
_DENIED: Final = ("drop", "deny", "reject", "block")
_ALLOWED: Final = ("accept", "allow", "pass")


def _hex(value: str) -> int | None:
    text = value[2:] if value[:2].lower() == "0x" else value
    try:
        return int(text, 16)
    except ValueError:
        return None


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


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
        m = _LINE.match(raw.message)
        if m is None or " SRC=" not in m.group("body"):
            raise ParseError(self.id, "no netfilter fields (IN=... SRC=... DST=...)")
        event = self.new_event(raw)
        if m.group("mon"):
            month = MONTHS.get(m.group("mon").lower())
            ts = None if month is None else resolve_year_less(
                month, int(m.group("day")), int(m.group("hh")), int(m.group("mm")), int(m.group("ss")), 0,
                self.options.tz, self.options.clock.now(),
            )
            if ts is not None:
                event["@timestamp"] = iso_utc(ts)
        if m.group("host"):
            event["observer"] = {"name": m.group("host")}
        iptables: dict[str, Any] = {}
        self._prefix(event, iptables, m.group("prefix"))
        self._tokens(event, iptables, "IN=" + m.group("body"))
        if "source" not in event or "destination" not in event:
            raise ParseError(self.id, "SRC= or DST= is not an IP address")
        self._finish(event, iptables)
        return event

    @staticmethod
    def _prefix(event: Event, iptables: dict[str, Any], prefix: str) -> None:
        """The LOG prefix: a Ubiquiti ``[set-rule-action]`` label or ``... ACTION:``."""
        label = _UBIQUITI.search(prefix)
        if label is not None and prefix.endswith("]"):
            rule_set, number, action = label.group("set"), label.group("num"), label.group("act")
            iptables["ubiquiti"] = {"rule_set": rule_set, "rule_number": number}
            zones = rule_set.split("-")
            if len(zones) == 2:
                iptables["ubiquiti"].update(input_zone=zones[0], output_zone=zones[1])
            if action:
                event["event"]["action"] = _UBIQUITI_ACTIONS.get(action, action.lower())
            return
        words = prefix.split()
        if words and words[-1].endswith(":") and len(words[-1]) > 1:
            event["event"]["action"] = words[-1][:-1].lower()

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
            if key not in _KEYS:
                continue  # URGP, MARK, PHYSIN...: skip the comparisons below
            if key == "IN":
                iptables["input_device"] = value
            elif key == "OUT":
                iptables["output_device"] = value
            elif key == "MAC":
                parts = value.split(":")
                if len(parts) >= 6:
                    destination["mac"] = ":".join(parts[:6])
                if len(parts) >= 12:
                    source["mac"] = ":".join(parts[6:12])
                if len(parts) >= 14:
                    ether = ":".join(parts[12:14])
                    number = _hex(ether.replace(":", ""))
                    if number is not None:
                        iptables["ether_type"] = number
                    if ether.lower() in _ETHER_TYPES:
                        event.setdefault("network", {})["type"] = _ETHER_TYPES[ether.lower()]
            elif key == "SRC":
                source["ip"] = value
            elif key == "DST":
                destination["ip"] = value
            elif key == "LEN":
                n = _int(value)
                if n is not None:
                    if proto == "UDP":
                        iptables.setdefault("udp", {})["length"] = n
                    elif proto is None:
                        iptables["length"] = n
            elif key in ("TOS", "PREC", "TC"):
                n = _hex(value) if key != "TC" else _int(value)
                if n is not None:
                    iptables["precedence_bits" if key == "PREC" else "tos"] = n
            elif key in ("TTL", "HOPLIMIT"):
                if (n := _int(value)) is not None:
                    iptables["ttl"] = n
            elif key == "FLOWLBL":
                if (n := _int(value)) is not None:
                    iptables["flow_label"] = n
            elif key == "ID":
                if (n := _int(value)) is not None:
                    if seen_type:
                        iptables.setdefault("icmp", {})["id"] = n
                    elif proto is None:
                        iptables["id"] = n
            elif key == "FRAG":
                if (n := _int(value)) is not None:
                    iptables["fragment_offset"] = n
            elif key == "PROTO":
                proto = value.upper()
                transport = value.lower()
                event.setdefault("network", {})["transport"] = "ipv6-icmp" if transport == "icmpv6" else transport
            elif key == "SPT":
                if (n := _int(value)) is not None:
                    source["port"] = n
            elif key == "DPT":
                if (n := _int(value)) is not None:
                    destination["port"] = n
            elif key == "WINDOW":
                if (n := _int(value)) is not None:
                    iptables.setdefault("tcp", {})["window"] = n
            elif key == "RES":
                if (n := _hex(value)) is not None:
                    iptables.setdefault("tcp", {})["reserved_bits"] = n
            elif key == "SEQ":
                if (n := _int(value)) is not None:
                    if seen_type:
                        iptables.setdefault("icmp", {})["seq"] = n
                    else:
                        iptables.setdefault("tcp", {})["seq"] = n
            elif key == "ACK" and proto == "TCP":
                if (n := _int(value)) is not None:
                    iptables.setdefault("tcp", {})["ack"] = n
            elif key in ("TYPE", "CODE"):
                if (n := _int(value)) is not None:
                    iptables.setdefault("icmp", {})[key.lower()] = n
                    seen_type = True
            elif key == "PARAMETER":
                if (n := _int(value)) is not None:
                    iptables.setdefault("icmp", {})["parameter"] = n
            elif key == "GATEWAY":
                iptables.setdefault("icmp", {})["redirect"] = value
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
        ecs["type"] = ["connection"]
        action = ecs.get("action", "")
        if action.startswith(_DENIED) or action.endswith(_DENIED):
            ecs["type"].append("denied")
        elif action.startswith(_ALLOWED) or action.endswith(_ALLOWED):
            ecs["type"].append("allowed")
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
        add_related(event, "ip", source["ip"], destination["ip"])
        network = event.get("network", {})
        icmp = iptables.get("icmp", {})
        icmp_like = network.get("transport") in ("icmp", "ipv6-icmp")
        cid = community_id(
            source["ip"], destination["ip"],
            icmp.get("type") if icmp_like else source.get("port"),
            icmp.get("code") if icmp_like else destination.get("port"),
            network.get("transport"),
        )
        if cid is not None:
            event.setdefault("network", {})["community_id"] = cid
        event["tags"] = ["forwarded", "iptables"]
