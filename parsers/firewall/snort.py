"""Snort and Cisco Firepower (Sourcefire) syslog to ECS: dataset ``snort.log``.

Families recognised after the syslog header, following Snort's syslog alert output and
the Firepower syslog formats, placed in ECS as Elastic's ``snort/log`` module does:

* Snort alerts: ``[gid:sid:rev] msg [Classification: c] [Priority: p] {PROTO} a:p -> b:p``
* Firepower ``%NGIPS-``/``%FTD-`` messages with ``Key:value, ...`` bodies and
  connection events (``Protocol: tcp, AccessControlRuleAction:...``)
* health notifications (``HMNOTIFY: ... (Sensor s): Severity:x: result``)
* malware events (``Sha256:... Disposition: ... IP Addresses: a<<-b``)
* audit records (``file: host: user@ip, area, action``)

The timestamp is matched here, not with ``parsers.syslog``: Firepower writes stamps such
as ``2016-2-12T13:12:33Z`` (one-digit month) and ``Jan 29 2016 06:09:59`` that a strict
RFC 3164/5424 reader does not take.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Final

from parsers.base import BaseParser
from parsers.firewall._common import finish_network, finish_related, iso, put, to_int
from parsers.syslog import parse_any_header, resolve_year_less
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent

_MONTHS: Final = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_HEADER: Final = re.compile(
    r"^(?:<\d{1,3}>)?(?:(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})(?:\s+(?P<year>\d{4}))?\s+"
    r"(?P<hms>\d{1,2}:\d{2}:\d{2})|(?P<iso>\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{2}:\d{2}"
    r"(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?))\s+(?P<rest>.*)$", re.S)
_ALERT: Final = re.compile(
    r"\[(?P<gid>\d+|\w+):(?P<sid>\d+):(?P<rev>[\d.]+)\]\s*(?P<msg>.*?)\s*"
    r"(?:\[Impact:[^\]]*\].*?)?"
    r"(?:\[Classification:\s*(?P<class>[^\]]*?)\s*\]\s*)?"
    r"\[Priority:\s*(?P<prio>[^\]]*?)\s*\].*?\{(?P<proto>[^}]+)\}\s+"
    r"(?P<src>\S+)(?:\s+\((?P<srcgeo>[^)]*)\))?\s+->\s+(?P<dst>\S+)"
    r"(?:\s+\((?P<dstgeo>[^)]*)\))?\s*$", re.S)
_FIREPOWER: Final = re.compile(r"%(?P<fac>[A-Z]+)-(?P<level>[^-:\s]+)-(?P<id>[^:\s]+):\s*(?P<body>.*)$",
                               re.S)
_HEALTH: Final = re.compile(
    r"HMNOTIFY:\s*(?P<action>.*?)\s*\(Sensor\s*(?P<sensor>[^)]*)\):\s*Severity:\s*"
    r"(?P<level>[^:]+):\s*(?P<result>.*)$", re.S)
_MALWARE: Final = re.compile(
    r"Sha256:\s*(?P<sha>\S+)\s+Disposition:\s*(?P<disp>.*?)\s+Threat name:\s*(?P<threat>.*?)"
    r"\s+IP Addresses:\s*(?P<dst>[^<\s]+)<<-(?P<src>\S+)", re.S)
_AUDIT: Final = re.compile(
    r"^(?P<file>[^\s:]+):\s+(?:\S+\s+)?(?P<host>[^\s:]+):\s+(?P<user>[^@,\s]+)@[^,]*,\s*"
    r"(?P<tail>.*)$", re.S)
_PAIRS: Final = re.compile(r"(?:^|,)\s*([A-Za-z][\w ]*?)\s*:\s*([^,]*)")
_TRANSPORTS: Final = frozenset({"tcp", "udp", "icmp", "ipv6-icmp", "sctp"})
FIREPOWER_FIELDS: Final = {
    "AccessControlRuleAction": ("event.action", "str"),
    "SrcIP": ("source.ip", "str"),
    "DstIP": ("destination.ip", "str"),
    "SrcPort": ("source.port", "int"),
    "DstPort": ("destination.port", "int"),
    "ApplicationProtocol": ("network.protocol", "lower"),
    "Client": ("network.application", "str"),
    "IngressInterface": ("observer.ingress.interface.name", "str"),
    "EgressInterface": ("observer.egress.interface.name", "str"),
    "IngressZone": ("observer.ingress.zone", "str"),
    "EgressZone": ("observer.egress.zone", "str"),
    "AccessControlRuleName": ("rule.name", "str"),
    "ACPolicy": ("rule.ruleset", "str"),
    "InitiatorBytes": ("source.bytes", "int"),
    "ResponderBytes": ("destination.bytes", "int"),
    "InitiatorPackets": ("source.packets", "int"),
    "ResponderPackets": ("destination.packets", "int"),
    "User": ("user.name", "str"),
    "UserName": ("user.name", "str"),
    "DNSQuery": ("dns.question.name", "str"),
    "URL": ("url.original", "str"),
    "UserAgent": ("user_agent.original", "str"),
    "IP": ("host.ip", "str"),
}


class SnortLogParser(BaseParser):
    """Snort / Firepower syslog lines (alerts, connection, health, malware, audit)."""

    id = "snort.log"
    syslog_programs: tuple[str, ...] = ("snort",)
    route_signals: tuple[str, ...] = ("[Classification:", "[Priority:", "%NGIPS-", "%FTD-",
                                      "HMNOTIFY:")
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        return any(sig in raw.message for sig in self.route_signals)

    def parse(self, raw: RawEvent) -> Event:
        return parse_any_header(self._parse_bsd, raw, self.options.tz, self.options.clock)

    def _parse_bsd(self, raw: RawEvent) -> Event:
        m = _HEADER.match(raw.message)
        if not m:
            raise ParseError(self.id, "no syslog timestamp")
        event = self.new_event(raw)
        event["@timestamp"] = iso(self._stamp(m))
        put(event, "observer", {"vendor": "Snort", "product": "IDS", "type": "IDS"})
        rest = m.group("rest")
        if not self._audit(event, rest):
            host, _, body = rest.partition(" ")
            put(event, "host.name", host.rstrip(":"))
            if not (self._alert(event, body) or self._firepower(event, body)
                    or self._health(event, body) or self._malware(event, body)
                    or self._connection(event, body)):
                raise ParseError(self.id, "no known Snort/Firepower message form")
        finish_network(event)
        put(event, "related.hosts", [event["host"]["name"]] if "host" in event
            and "name" in event["host"] else None)
        finish_related(event)
        return event

    def _stamp(self, m: re.Match[str]) -> datetime:
        tz = self.options.tz
        if m.group("iso"):
            text = m.group("iso").replace("Z", "+00:00")
            date, _, time = text.partition("T")
            y, mo, d = (int(p) for p in date.split("-"))
            try:
                clock = datetime.fromisoformat(f"2000-01-01T{time}")
                return datetime(y, mo, d, clock.hour, clock.minute, clock.second,
                                clock.microsecond, clock.tzinfo or tz)
            except ValueError:
                raise ParseError(self.id, f"bad timestamp {m.group('iso')!r}") from None
        h, mi, s = (int(p) for p in m.group("hms").split(":"))
        month = _MONTHS.get(m.group("mon"))
        stamp: datetime | None = None
        if month is not None and m.group("year"):
            try:
                stamp = datetime(int(m.group("year")), month, int(m.group("day")), h, mi, s,
                                 tzinfo=tz)
            except ValueError:
                stamp = None
        elif month is not None:
            # Year-less: the latest such date not after the reference clock.
            stamp = resolve_year_less(month, int(m.group("day")), h, mi, s, 0, tz,
                                      self.options.clock.now())
        if stamp is None:
            raise ParseError(self.id, "bad syslog timestamp")
        return stamp

    def _alert(self, event: Event, body: str) -> bool:
        m = _ALERT.search(body)
        if not m:
            return False
        put(event, "event.kind", "alert")
        put(event, "event.category", ["intrusion_detection", "network"])
        put(event, "event.code", m.group("sid"))
        put(event, "observer.version", m.group("rev"))
        put(event, "rule.id", m.group("sid"))
        put(event, "rule.name", m.group("msg").strip('"') or None)
        put(event, "message", m.group("msg").strip('"') or None)
        put(event, "rule.category", m.group("class"))
        put(event, "log.level", m.group("prio"))
        proto = m.group("proto").lower()
        put(event, "network.protocol", proto)
        if proto in _TRANSPORTS:
            put(event, "network.transport", proto)
        _endpoint(event, "source", m.group("src"))
        _endpoint(event, "destination", m.group("dst"))
        put(event, "source.geo.country_name", m.group("srcgeo"))
        put(event, "destination.geo.country_name", m.group("dstgeo"))
        return True

    def _firepower(self, event: Event, body: str) -> bool:
        m = _FIREPOWER.search(body)
        if not m:
            return False
        put(event, "event.code", f"{m.group('fac')}_events")
        put(event, "log.level", m.group("level"))
        self._pairs(event, m.group("body"))
        return True

    def _connection(self, event: Event, body: str) -> bool:
        if "AccessControlRuleAction:" not in body:
            return False
        put(event, "event.code", "connection_events")
        proto = re.match(r"\s*(?:\S+:\s+)?Protocol:\s*(\w+)", body)
        self._pairs(event, body)
        if proto:
            put(event, "network.transport", proto.group(1).lower())
        return True

    def _pairs(self, event: Event, body: str) -> None:
        for key, value in _PAIRS.findall(body):
            target = FIREPOWER_FIELDS.get(key)
            value = value.strip()
            if target is None or not value:
                continue
            path, kind = target
            if kind == "int":
                put(event, path, to_int(value))
            elif kind == "lower":
                put(event, path, value.lower())
            else:
                put(event, path, value)

    def _health(self, event: Event, body: str) -> bool:
        m = _HEALTH.search(body)
        if not m:
            return False
        put(event, "event.code", "HMNOTIFY")
        put(event, "event.action", m.group("action"))
        put(event, "log.level", m.group("level").strip())
        put(event, "observer.name", m.group("sensor"))
        return True

    def _malware(self, event: Event, body: str) -> bool:
        m = _MALWARE.search(body)
        if not m:
            return False
        put(event, "event.code", "MALWARE")
        put(event, "event.kind", "alert")
        put(event, "event.category", ["malware"])
        put(event, "file.hash.sha256", m.group("sha"))
        put(event, "threat.indicator.name", m.group("threat"))
        _endpoint(event, "destination", m.group("dst"))
        _endpoint(event, "source", m.group("src"))
        return True

    def _audit(self, event: Event, rest: str) -> bool:
        m = _AUDIT.match(rest)
        if not m:
            return False
        put(event, "event.code", "SystemSettings")
        put(event, "file.name", m.group("file"))
        put(event, "host.name", m.group("host"))
        put(event, "user.name", m.group("user"))
        tail = m.group("tail")
        if "Login Success" in tail:
            put(event, "event.outcome", "success")
        elif "Login Fail" in tail:
            put(event, "event.outcome", "failure")
        return True


def _endpoint(event: Event, side: str, text: str) -> None:
    """``ip`` or ``ip:port`` (IPv6 keeps its colons when no port follows)."""
    # One colon is never an address (IPv4 has none, IPv6 at least two): skip the parse
    # and its raised ValueError for the common "ip:port".
    if text.count(":") != 1:
        try:
            ipaddress.ip_address(text)
            put(event, f"{side}.ip", text)
            return
        except ValueError:
            pass
    host, _, port = text.rpartition(":")
    if host and port.isdecimal():
        put(event, f"{side}.ip", host)
        put(event, f"{side}.port", int(port))
    else:
        put(event, f"{side}.address", text)
