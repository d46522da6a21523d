"""``cisco.ios`` and ``cisco.nexus``: Cisco IOS / NX-OS syslog (``%FAC-SEV-MNEMONIC: text``) to ECS.

The header is whatever precedes the first ``%FACILITY-SEVERITY-MNEMONIC:`` (a syslog
timestamp and host, a sequence number, the device's own timestamp, possibly with a year
first as NX-OS writes it). The mnemonic routes to ONE pattern of ``cisco-ios.grok``
(access-list logging, logins, configuration, interface state); other messages keep their
text in ``message``. Fields follow Filebeat's cisco/ios fileset (``cisco.ios.*``).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Final

from parsers.base import BaseParser, ParserOptions
from parsers.cisco.asa import IANA_NUMBERS, ZONES
from parsers.community_id import community_id
from parsers.grok import GrokPattern, default_library, set_fields
from parsers.syslog import MONTHS, iso_utc, parse_any_header, resolve_year_less
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related


def prune_related(event: Event) -> None:
    """Drop empty ``related.*`` lists (add_related creates them even for no value)."""
    related = event.get("related", {})
    for kind in [k for k, v in related.items() if not v]:
        del related[kind]
    if not related:
        event.pop("related", None)

_EMBLEM: Final = re.compile(r"%(?P<fac>[A-Z][A-Z0-9_]*(?:-[A-Z][A-Z0-9_]*)?)-(?P<sev>[0-7])-(?P<mn>[A-Z0-9_]+):\s*")
# A timestamp anywhere in the header: "Mar  1 00:00:12.345 UTC", "Jan 10 2024 12:00:00",
# NX-OS "2019 Jan 10 12:00:00"; "*" (not synchronised) and "." (NTP lost) may precede it.
_STAMP: Final = re.compile(
    r"(?:(?P<y1>\d{4}) )?(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2})(?: (?P<y2>\d{4}))? "
    r"(?P<hh>\d{1,2}):(?P<mm>\d{2}):(?P<ss>\d{2})(?:\.(?P<frac>\d{1,6}))?"
)
# NX-OS writes the year first ("2019 Jan 10 12:00:00"): such lines are cisco.nexus's.
_NEXUS_STAMP: Final = re.compile(r"(?:<\d{1,3}>)?:?\s*\d{4} [A-Z][a-z]{2} +\d{1,2} \d{1,2}:\d{2}:\d{2}")
_SEQUENCE: Final = re.compile(r"(?:^|[\s>])(?P<seq>\d+): ")
# "logging origin-id hostname": the device name before its own stamp ("58: R1: *Mar  1 ...").
_ORIGIN: Final = re.compile(r"(?:^|[>\s])(?P<host>[A-Za-z][\w.\-]*): [*.]?(?:\d{4} )?[A-Z][a-z]{2} +\d")
_HOST_AFTER_STAMP: Final = re.compile(r"(?:\s+(?P<host>[A-Za-z0-9][\w.\-]*))?:?\s")
_LEVELS: Final = ("emergencies", "alerts", "critical", "errors", "warnings", "notifications",
                  "informational", "debugging")
ROUTES: Final = {
    "IPACCESSLOGP": "IOS_IPACCESSLOGP", "IPACCESSLOGDP": "IOS_IPACCESSLOGDP", "IPACCESSLOGRP": "IOS_IPACCESSLOGRP",
    "IPACCESSLOGNP": "IOS_IPACCESSLOGNP", "IPACCESSLOGS": "IOS_IPACCESSLOGS", "ACCESSLOGP": "IOS_IPACCESSLOGP",
    "ACCESSLOGDP": "IOS_IPACCESSLOGDP", "ACCESSLOGNP": "IOS_IPACCESSLOGNP", "ACCESSLOGS": "IOS_IPACCESSLOGS",
    "LOGIN_SUCCESS": "IOS_LOGIN_SUCCESS", "LOGIN_FAILED": "IOS_LOGIN_FAILED", "CONFIG_I": "IOS_CONFIG_I",
    "SSH2_USERAUTH": "IOS_SSH2_USERAUTH", "UPDOWN": "IOS_UPDOWN", "SIGNATURE": "IOS_SIGNATURE",
}
_OUTCOMES: Final = {"permitted": ("success", "allowed"), "denied": ("success", "denied"),
                    "succeeded": ("success", None), "failed": ("failure", None)}


class CiscoIosParser(BaseParser):
    """IOS/IOS-XE syslog to ECS; fields under ``cisco.ios``."""

    id = "cisco.ios"
    namespace = "ios"
    route_signals: ClassVar[tuple[str, ...]] = ("%SEC-6-IPACCESSLOG", "%LINEPROTO-5-", "%SYS-5-CONFIG_I:",
                                                "%SEC_LOGIN-", "%LINK-3-UPDOWN:")
    # Any other message: the EMBLEM header's grammar (for lines nothing else claims).
    route_patterns: ClassVar[tuple[str, ...]] = (r"%[A-Z][A-Z0-9_]*(?:-[A-Z][A-Z0-9_]*)?-[0-7]-[A-Z0-9_]+:",)

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        lib = default_library()
        self._patterns: dict[str, GrokPattern] = {mn: lib.compile(f"%{{{name}}}") for mn, name in ROUTES.items()}

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return _is_emblem(text) and _NEXUS_STAMP.match(text) is None

    def parse(self, raw: RawEvent) -> Event:
        return parse_any_header(self._parse_bsd, raw, self.options.tz, self.options.clock)

    def _parse_bsd(self, raw: RawEvent) -> Event:
        text = raw.message
        m = _EMBLEM.search(text)
        if m is None:
            raise ParseError(self.id, "no %FACILITY-SEVERITY-MNEMONIC: message header")
        event = self.new_event(raw)
        ns: dict[str, Any] = {"facility": m.group("fac")}
        self._header(event, ns, text[: m.start()])
        severity = int(m.group("sev"))
        mnemonic = m.group("mn")
        body = text[m.end():].rstrip()
        ecs = event["event"]
        ecs.update(code=mnemonic, severity=severity, kind="event")
        event.setdefault("log", {})["level"] = _LEVELS[severity]
        event["message"] = body
        pattern = self._patterns.get(mnemonic)
        fields = pattern.match(body) if pattern is not None else None
        if fields:
            for key in [k for k in fields if k.startswith("cisco.ios.")]:
                ns[key[len("cisco.ios."):]] = fields.pop(key)
            set_fields(event, fields)
        self._categorise(event, mnemonic)
        observer = event.setdefault("observer", {})
        observer.update(vendor="Cisco", product=self.namespace)
        event["cisco"] = {self.namespace: ns}
        return event

    def _header(self, event: Event, ns: dict[str, Any], header: str) -> None:
        """Timestamp (the device's own when it has a date), host and sequence number."""
        stamps = list(_STAMP.finditer(header))
        if stamps:
            stamp = stamps[-1]  # the device stamp is the one closest to the message
            # "Oct 6 03:32:04.114 gmt:" names a zone where other lines name a host.
            after = _HOST_AFTER_STAMP.match(header, stamp.end())
            word = after.group("host") if after is not None else None
            tz = ZONES.get(word.upper(), self.options.tz) if word else self.options.tz
            ts = _stamp(stamp, tz, self.options.clock.now())
            if ts is not None:
                event["@timestamp"] = iso_utc(ts)
            origin = _ORIGIN.search(header)
            if origin is not None:
                name: str | None = origin.group("host")
            else:
                host = _HOST_AFTER_STAMP.match(header, stamps[0].end())
                name = host.group("host") if host is not None else None
            if name and not name.isdecimal() and name.upper() not in ZONES:
                event["host"] = {"hostname": name}
                event["observer"] = {"hostname": name}
                add_related(event, "hosts", name)
        seq = _SEQUENCE.search(header)
        if seq is not None:
            ns["sequence"] = int(seq.group("seq"))

    def _categorise(self, event: Event, mnemonic: str) -> None:
        ecs = event["event"]
        outcome = ecs.pop("outcome", None)
        mapped = _OUTCOMES.get(str(outcome).lower()) if outcome is not None else None
        network = event.get("network", {})
        if "ACCESSLOG" in mnemonic:
            ecs["category"] = ["network"]
            ecs["type"] = ["connection"]
            ecs["action"] = "firewall-rule"
            transport = network.get("transport")
            if isinstance(transport, str):
                transport = network["transport"] = transport.lower()
                if transport in IANA_NUMBERS:
                    network["iana_number"] = IANA_NUMBERS[transport]
        elif mnemonic in ("LOGIN_SUCCESS", "LOGIN_FAILED", "SSH2_USERAUTH"):
            ecs["category"] = ["authentication"]
            ecs["type"] = ["info"]
            ecs["action"] = "logged-in" if mnemonic != "LOGIN_FAILED" else "logon-failed"
            if mnemonic != "SSH2_USERAUTH":
                mapped = ("success", None) if mnemonic == "LOGIN_SUCCESS" else ("failure", None)
        elif mnemonic == "CONFIG_I":
            ecs["category"] = ["configuration"]
            ecs["type"] = ["change"]
        if mapped is not None:
            ecs["outcome"] = mapped[0]
            if mapped[1]:
                ecs.setdefault("type", []).append(mapped[1])
        source, destination = event.get("source", {}), event.get("destination", {})
        add_related(event, "ip", source.get("ip"), destination.get("ip"))
        add_related(event, "user", event.get("user", {}).get("name"))
        cid = community_id(source.get("ip"), destination.get("ip"), source.get("port"), destination.get("port"),
                           network.get("iana_number", network.get("transport")))
        if cid is not None:
            network["community_id"] = cid
        if network:
            event["network"] = network
        prune_related(event)


class CiscoNexusParser(CiscoIosParser):
    """NX-OS syslog (``2019 Jan 10 12:00:00 sw1 %ETHPORT-5-IF_DOWN_...``); fields under ``cisco.nexus``."""

    id = "cisco.nexus"
    namespace = "nexus"
    route_signals: ClassVar[tuple[str, ...]] = ("%ETHPORT-", "%VSHD-", "%ETH_PORT_CHANNEL-", "%VPC-")
    # NX-OS stamps lead with the year ("2019 Jan 10 12:00:00[.mmm] [TZ]"): any EMBLEM message after one.
    route_patterns: ClassVar[tuple[str, ...]] = (
        r"^(?:<\d{1,3}>)?:?\s*\d{4} [A-Z][a-z]{2} +\d{1,2} \d{1,2}:\d{2}:\d{2}[^%]{0,80}"
        r"%[A-Z][A-Z0-9_]*(?:-[A-Z][A-Z0-9_]*)?-[0-7]-[A-Z0-9_]+:",)

    def accepts(self, raw: RawEvent) -> bool:
        return _is_emblem(raw.message)

    def parse(self, raw: RawEvent) -> Event:
        event = super().parse(raw)
        interface = _INTERFACE.search(event.get("message", ""))
        if interface is not None:
            event["cisco"]["nexus"]["interface"] = interface.group(1)
            event.setdefault("observer", {})["ingress"] = {"interface": {"name": interface.group(1)}}
        return event


def _is_emblem(text: str) -> bool:
    """An IOS-family EMBLEM message (ASA and FTD have parsers of their own)."""
    return _EMBLEM.search(text) is not None and "%ASA-" not in text and "%FTD-" not in text and "%PIX-" not in text


_INTERFACE: Final = re.compile(r"[Ii]nterface (?P<name>[A-Za-z][\w\-]*\d[\w/.:\-]*)")


def _stamp(m: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    month = MONTHS.get(m.group("mon").lower())
    if month is None:
        return None
    hh, mm, ss = int(m.group("hh")), int(m.group("mm")), min(int(m.group("ss")), 59)
    micro = int(m.group("frac").ljust(6, "0")) if m.group("frac") else 0
    day = int(m.group("day"))
    year = m.group("y1") or m.group("y2")
    if hh > 23 or mm > 59:
        return None
    if year:
        try:
            return datetime(int(year), month, day, hh, mm, ss, micro, tzinfo=tz)
        except ValueError:
            return None
    return resolve_year_less(month, day, hh, mm, ss, micro, tz, now)
