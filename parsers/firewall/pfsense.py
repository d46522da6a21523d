"""pfSense / OPNsense packet filter log (``filterlog``) to ECS: dataset ``pfsense.log``.

The message is the comma-separated record documented by Netgate ("Filter Log Format",
https://docs.netgate.com/pfsense/en/latest/monitoring/logs/raw-filter-format.html):

    rule,subrule,anchor,tracker,interface,reason,action,direction,ipversion,
    IPv4: tos,ecn,ttl,id,offset,flags,protocol-id,protocol,length,src,dst
    IPv6: class,flow-label,hop-limit,protocol,protocol-id,length,src,dst
    then per protocol: TCP srcport,dstport,datalength,flags,seq,ack,window,urg,options;
    UDP srcport,dstport,datalength; ICMP type[,type-specific]; CARP type,ttl,vhid,...

ECS placement follows Elastic's pfSense integration (``pfsense.*`` vendor fields).

The same dataset takes the web GUI's logins, which php-fpm logs to the same syslog
(``/index.php: webConfigurator authentication error for user 'admin' from: 10.0.0.1``,
``/index.php: Successful login for user 'admin' from: 10.0.0.1 (Local Database)``): an
authentication event with ``user.name`` and ``source.ip``, so a brute force on the
firewall's own console is detectable.
"""

from __future__ import annotations

import re
from typing import Any, Final

from parsers.base import BaseParser
from parsers.community_id import community_id
from parsers.firewall._common import finish_network, put, to_int
from parsers.syslog import SyslogHeader, split_syslog
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp

_ICMP_TYPES: Final = {"reply": 0, "unreach": 3, "unreachproto": 3, "unreachport": 3,
                      "unreachhost": 3, "redirect": 5, "request": 8, "timexceed": 11,
                      "paramprob": 12, "tstamp": 13, "tstampreply": 14, "maskreq": 17,
                      "maskreply": 18}
_ACTION_TYPES: Final = {"pass": "allowed", "block": "denied", "reject": "denied"}
_DIRECTIONS: Final = {"in": ("ingress", "observer.ingress.interface.name"),
                      "out": ("egress", "observer.egress.interface.name")}
# The web GUI's login messages (php-fpm): outcome, user, client address.
_GUI_LOGIN: Final = re.compile(
    r"(?P<path>/\S*): (?:(?P<failure>webConfigurator authentication error)|(?P<success>Successful login))"
    r" for user '(?P<user>[^']*)' from: ?(?P<ip>[0-9A-Fa-f.:]+)")
_GUI_MARKERS: Final = ("webConfigurator authentication error for user", "Successful login for user")


class PfsenseLogParser(BaseParser):
    """``Sep 28 10:38:09 pfSense filterlog: 53,,,1000000301,em0,match,block,in,4,...``."""

    id = "pfsense.log"
    syslog_programs: tuple[str, ...] = ("filterlog",)
    route_signals: tuple[str, ...] = (" filterlog:", " filterlog ", *_GUI_MARKERS)
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return "filterlog" in text or any(marker in text for marker in _GUI_MARKERS)

    def parse(self, raw: RawEvent) -> Event:
        header = split_syslog(raw.message, self.options.tz, self.options.clock.now())
        if header is not None and header.program == "php-fpm":
            return self._gui_login(raw, header)
        if header is None or header.program != "filterlog":
            raise ParseError(self.id, "neither a filterlog line nor a web GUI login (php-fpm)")
        fields = header.message.strip().split(",")
        if len(fields) < 9 or fields[8] not in ("4", "6"):
            raise ParseError(self.id, "filterlog record without an IP version in field 9")
        event = self._skeleton(raw, header)
        rule, subrule, anchor, tracker, interface, reason, action, direction, version = fields[:9]
        firewall: dict[str, Any] = {"rule_number": rule, "sub_rule_number": subrule,
                                    "anchor": anchor, "tracker_id": tracker, "action": action}
        put(event, "pfsense.firewall", {k: v for k, v in firewall.items() if v})
        put(event, "rule.id", tracker)
        put(event, "event.kind", "event")
        put(event, "event.category", ["network"])
        put(event, "event.type", ["connection"] + ([_ACTION_TYPES[action]]
                                                   if action in _ACTION_TYPES else []))
        put(event, "event.action", action)
        put(event, "event.reason", reason)
        if direction in _DIRECTIONS:
            net_direction, iface_path = _DIRECTIONS[direction]
            put(event, "network.direction", net_direction)
            put(event, iface_path, interface)
        rest = self._ip(event, version, fields)
        self._protocol(event, rest)
        finish_network(event, community=False)
        self._community(event)
        return event

    def _skeleton(self, raw: RawEvent, header: SyslogHeader) -> Event:
        """The event with what the syslog header says: time, host, process, the firewall."""
        event = self.new_event(raw)
        if header.timestamp is not None:
            event["@timestamp"] = format_timestamp(header.timestamp)
        put(event, "host.hostname", header.hostname)
        put(event, "process.name", header.program)
        put(event, "process.pid", to_int(header.pid))
        put(event, "observer", {"vendor": "Netgate", "product": "pfSense", "type": "firewall",
                                "name": header.hostname})
        return event

    def _gui_login(self, raw: RawEvent, header: SyslogHeader) -> Event:
        m = _GUI_LOGIN.match(header.message.strip())
        if m is None:
            raise ParseError(self.id, "php-fpm line that is not a web GUI login")
        event = self._skeleton(raw, header)
        success = m.group("success") is not None
        ecs = event["event"]
        ecs.update({"kind": "event", "category": ["authentication"], "type": ["info"],
                    "action": "login", "outcome": "success" if success else "failure"})
        ip, user = m.group("ip"), m.group("user")
        event["source"] = {"address": ip, "ip": ip}
        event["url"] = {"path": m.group("path")}
        related: dict[str, list[str]] = {"ip": [ip]}
        if user:
            event["user"] = {"name": user}
            related["user"] = [user]
        if header.hostname:
            related["hosts"] = [header.hostname]
        event["related"] = related
        return event

    def _ip(self, event: Event, version: str, fields: list[str]) -> list[str]:
        """IP header fields; returns the protocol-specific remainder."""
        if version == "4":
            if len(fields) < 20:
                raise ParseError(self.id, "truncated IPv4 filterlog record")
            tos, ecn, ttl, ident, offset, flags, proto_id, proto, length, src, dst = fields[9:20]
            put(event, "pfsense.ip", {k: v for k, v in (
                ("tos", tos), ("ecn", ecn), ("ttl", to_int(ttl)), ("id", to_int(ident)),
                ("offset", to_int(offset)), ("flags", flags)) if v not in (None, "")})
            put(event, "network.type", "ipv4")
            rest = fields[20:]
        else:
            if len(fields) < 17:
                raise ParseError(self.id, "truncated IPv6 filterlog record")
            klass, flow, hop, proto, proto_id, length, src, dst = fields[9:17]
            put(event, "pfsense.ip", {k: v for k, v in (
                ("tos", klass), ("flow_label", flow), ("ttl", to_int(hop))) if v not in (None, "")})
            put(event, "network.type", "ipv6")
            rest = fields[17:]
        put(event, "network.iana_number", proto_id)
        put(event, "network.transport", proto.lower())
        put(event, "network.bytes", to_int(length))
        put(event, "source.ip", src)
        put(event, "destination.ip", dst)
        return rest

    def _protocol(self, event: Event, rest: list[str]) -> None:
        transport = event.get("network", {}).get("transport")
        if transport in ("tcp", "udp") and len(rest) >= 3:
            put(event, "source.port", to_int(rest[0]))
            put(event, "destination.port", to_int(rest[1]))
            if transport == "udp":
                put(event, "pfsense.udp.length", to_int(rest[2]))
                return
            put(event, "pfsense.tcp.length", to_int(rest[2]))
            names = ("flags", "seq", "ack", "window", "urg", "options")
            tcp: dict[str, Any] = {name: value for name, value in zip(names, rest[3:9], strict=False) if value}
            if "options" in tcp:
                tcp["options"] = tcp["options"].split(";")
            for key in ("ack", "window", "urg"):
                if key in tcp and (number := to_int(tcp[key])) is not None:
                    tcp[key] = number
            put(event, "pfsense.tcp", {**event.get("pfsense", {}).get("tcp", {}), **tcp})
        elif transport in ("icmp", "ipv6-icmp", "icmp6") and rest:
            put(event, "pfsense.icmp.type", rest[0])
            if len(rest) > 1 and rest[0] in ("request", "reply") and len(rest) >= 3:
                put(event, "pfsense.icmp.id", to_int(rest[1]))
                put(event, "pfsense.icmp.seq", to_int(rest[2]))
            elif rest[-1].startswith("datalength="):
                put(event, "pfsense.icmp.length", to_int(rest[-1].split("=", 1)[1]))
        elif transport == "carp" and len(rest) >= 6:
            names = ("type", "ttl", "vhid", "version", "advbase", "advskew")
            put(event, "pfsense.carp", dict(zip(names, rest[:6], strict=False)))

    def _community(self, event: Event) -> None:
        net, src, dst = event.get("network", {}), event.get("source", {}), event.get("destination", {})
        proto = to_int(net.get("iana_number"))
        if proto is None or "ip" not in src or "ip" not in dst:
            return
        if proto in (1, 58):
            icmp_type = _ICMP_TYPES.get(event.get("pfsense", {}).get("icmp", {}).get("type", ""), 0)
            cid = community_id(src["ip"], dst["ip"], icmp_type, 0, proto)
        else:
            cid = community_id(src["ip"], dst["ip"], src.get("port"), dst.get("port"), proto)
        if cid:
            net["community_id"] = cid
