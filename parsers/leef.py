"""LEEF (IBM QRadar Log Event Extended Format) 1.0 and 2.0 to ECS.

``LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v`` or, in 2.0, with a sixth header
field naming the attribute delimiter (a character or ``x09``/``0x5E`` hex). Optionally
behind a syslog header. The predefined LEEF attributes map to ECS; every attribute is
also kept under ``leef.attributes``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.community_id import community_id
from parsers.syslog import apply_prefix_header, iso_utc, parse_bsd_timestamp, parse_iso
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, set_field

# Predefined LEEF attributes -> (ECS field, type).
ECS_MAPPING: Final[dict[str, tuple[str, str]]] = {
    "src": ("source.ip", "ip"), "dst": ("destination.ip", "ip"),
    "srcPort": ("source.port", "int"), "dstPort": ("destination.port", "int"),
    "srcPreNAT": ("source.ip", "ip"), "dstPreNAT": ("destination.ip", "ip"),
    "srcPostNAT": ("source.nat.ip", "ip"), "dstPostNAT": ("destination.nat.ip", "ip"),
    "srcPreNATPort": ("source.port", "int"), "dstPreNATPort": ("destination.port", "int"),
    "srcPostNATPort": ("source.nat.port", "int"), "dstPostNATPort": ("destination.nat.port", "int"),
    "srcMAC": ("source.mac", "str"), "dstMAC": ("destination.mac", "str"),
    "srcBytes": ("source.bytes", "int"), "dstBytes": ("destination.bytes", "int"),
    "srcPackets": ("source.packets", "int"), "dstPackets": ("destination.packets", "int"),
    "totalPackets": ("network.packets", "int"),
    "usrName": ("user.name", "str"), "accountName": ("user.name", "str"), "domain": ("user.domain", "str"),
    "identHostName": ("host.name", "str"), "identSrc": ("source.ip", "ip"),
    "proto": ("network.transport", "lower"), "sev": ("event.severity", "int"),
    "cat": ("event.category_name", "str"), "url": ("url.original", "str"),
    "policy": ("rule.name", "str"), "vSrc": ("source.ip", "ip"), "resource": ("host.name", "str"),
    "role": ("user.roles", "str"),
}
_PROTO_NUMBERS: Final = {"1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp"}


@dataclass(slots=True)
class LeefRecord:
    """A decoded LEEF message."""

    version: str
    vendor: str
    product: str
    product_version: str
    event_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    delimiter: str = "\t"
    prefix: str = ""


def _delimiter(spec: str) -> str | None:
    """LEEF 2.0 delimiter field: one character, or ``xHH``/``0xHH`` hex."""
    if len(spec) == 1:
        return spec
    m = re.fullmatch(r"(?:0?[xX])([0-9A-Fa-f]{1,4})", spec)
    return chr(int(m.group(1), 16)) if m else None


def decode_leef(text: str) -> LeefRecord | None:
    """Split a LEEF message; ``None`` when it is not LEEF."""
    start = text.find("LEEF:")
    if start < 0:
        return None
    body = text[start + 5 :]
    head = body.split("|", 5)
    if len(head) < 6:
        return None
    version = head[0].strip()
    if version.startswith("2"):
        rest = head[5].split("|", 1)
        if len(rest) == 2:
            delimiter = _delimiter(rest[0]) or "\t"
            attrs_text = rest[1]
        else:
            delimiter, attrs_text = "\t", rest[0]
    elif version.startswith("1"):
        delimiter, attrs_text = "\t", head[5]
    else:
        return None
    attributes: dict[str, str] = {}
    for pair in attrs_text.split(delimiter):
        key, sep, value = pair.partition("=")
        key = key.strip()
        if sep and key:
            attributes.setdefault(key, value.strip())
    return LeefRecord(version, head[1], head[2], head[3], head[4], attributes, delimiter, text[:start])


def _convert(value: str, kind: str) -> Any:
    if kind == "int":
        return int(value) if value.lstrip("-").isdecimal() else None
    if kind == "ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return None
    if kind == "lower":
        return _PROTO_NUMBERS.get(value, value.lower())
    return value


class LeefParser(BaseParser):
    """``leef.log``: LEEF 1.0/2.0 lines to ECS."""

    id = "leef.log"
    route_signals: ClassVar[tuple[str, ...]] = ("LEEF:1.0|", "LEEF:2.0|", "LEEF:1|", "LEEF:2|")

    def accepts(self, raw: RawEvent) -> bool:
        return "LEEF:" in raw.message

    def parse(self, raw: RawEvent) -> Event:
        record = decode_leef(raw.message)
        if record is None:
            raise ParseError(self.id, "not a LEEF message (no LEEF:version|vendor|product|version|event id|)")
        event = self.new_event(raw)
        now = self.options.clock.now()
        apply_prefix_header(event, record.prefix, self.options.tz, now)
        event["observer"] = {"vendor": record.vendor, "product": record.product, "version": record.product_version}
        event["event"]["code"] = record.event_id
        problems: list[str] = []
        for key, value in record.attributes.items():
            mapping = ECS_MAPPING.get(key)
            if mapping is None or not value:
                continue
            converted = _convert(value, mapping[1])
            if converted is None:
                problems.append(f"{key}: {value!r} is not a valid {mapping[1]}")
                continue
            if mapping[0] == "event.category_name":
                continue  # LEEF "cat" is free text; it stays in leef.attributes only
            set_field(event, mapping[0], converted)
        dev_time = record.attributes.get("devTime")
        if dev_time:
            ts = _leef_time(dev_time, self.options.tz, now)
            if ts is None:
                problems.append(f"devTime: {dev_time!r} is not a timestamp")
            else:
                event["@timestamp"] = iso_utc(ts)
        event["leef"] = {"version": record.version, "attributes": record.attributes}
        if problems:
            event["error"] = {"message": problems}
        source, destination = event.get("source", {}), event.get("destination", {})
        add_related(event, "ip", source.get("ip"), destination.get("ip"))
        add_related(event, "user", event.get("user", {}).get("name"))
        cid = community_id(source.get("ip"), destination.get("ip"), source.get("port"),
                           destination.get("port"), event.get("network", {}).get("transport"))
        if cid is not None:
            event.setdefault("network", {})["community_id"] = cid
        return event


def _leef_time(value: str, tz: Any, now: datetime) -> datetime | None:
    """``devTime``: epoch milliseconds, ISO-8601, or ``MMM dd yyyy HH:mm:ss`` (the LEEF default)."""
    if value.isdecimal():
        try:
            return datetime.fromtimestamp(int(value) / (1000 if len(value) > 10 else 1), UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if value[:4].isdecimal():
        return parse_iso(value, tz)
    ts = parse_bsd_timestamp(value, tz, now)
    if ts is None and " " in value:
        ts = parse_bsd_timestamp(value.rsplit(" ", 1)[0], tz, now)  # drop a zone name such as "UTC"
    return ts
