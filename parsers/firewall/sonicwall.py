"""SonicWall (SonicOS) syslog in ``id=firewall sn=... m=98 msg="..."`` form to ECS:
dataset ``sonicwall.firewall``.

SonicOS writes addresses as ``src=IP[:port[:interface[:host]]]``. Field meanings follow
the SonicOS log event reference; ECS placement follows Elastic's ``sonicwall/firewall``
module (event.code is the message id ``m``; vendor/product/type as Elastic sets them).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Final

from parsers.base import BaseParser
from parsers.firewall._common import (
    finish_network,
    finish_related,
    iso,
    parse_kv,
    put,
    to_int,
)
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent

# "key= value" (a space after '=') occurs in SonicOS output; glue it for the splitter.
_SPACED: Final = re.compile(r"(\w)= (?=\S)")
_TIME_FORMATS: Final = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S")
# Both formats with two-digit fields, as most records write them.
_STAMP: Final = re.compile(r"([0-9]{4})([/-])([0-9]{2})\2([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")


class SonicwallFirewallParser(BaseParser):
    """SonicWall: ``id=firewall sn=SERIAL time="2007-01-03 14:48:06" fw=IP pri=6 c=.. m=98``."""

    id = "sonicwall.firewall"
    syslog_programs: tuple[str, ...] = ()
    route_signals: tuple[str, ...] = (" sn=", "id=firewall")
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        msg = raw.message
        return "id=" in msg and " sn=" in msg and " m=" in msg

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        start = text.find("id=")
        if start < 0:
            raise ParseError(self.id, "no id= field")
        body = text[start:]
        kv = parse_kv(_SPACED.sub(r"\1=", body) if "= " in body else body)
        if "sn" not in kv or "m" not in kv:
            raise ParseError(self.id, "not a SonicWall record (sn/m missing)")
        event = self.new_event(raw)
        stamp = _time(kv.get("time", ""), self.options.tz)
        if stamp is None:
            raise ParseError(self.id, f"bad time {kv.get('time')!r}")
        event["@timestamp"] = iso(stamp)
        put(event, "observer", {"vendor": "Sonicwall", "product": "Firewalls",
                                "type": "Firewall"})
        put(event, "observer.serial_number", kv.get("sn"))
        put(event, "event.code", kv["m"])
        put(event, "message", kv.get("msg"))
        put(event, "event.action", kv.get("fw_action") or kv.get("msg"))
        put(event, "log.level", kv.get("pri"))
        put(event, "host.ip", kv.get("fw"))
        self._endpoint(event, "source", "observer.ingress.interface.name", kv.get("src"))
        self._endpoint(event, "destination", "observer.egress.interface.name", kv.get("dst"))
        self._endpoint(event, "source.nat", None, kv.get("natSrc"))
        self._endpoint(event, "destination.nat", None, kv.get("natDst"))
        put(event, "source.mac", kv.get("srcMac"))
        put(event, "destination.mac", kv.get("dstMac"))
        put(event, "source.bytes", to_int(kv.get("sent")))
        put(event, "destination.bytes", to_int(kv.get("rcvd")))
        put(event, "user.name", kv.get("usr") or kv.get("user"))
        proto = kv.get("proto") or _note_protocol(kv.get("note", ""))
        if proto:
            put(event, "network.protocol", proto.split("/", 1)[0].lower())
        put(event, "rule.name", kv.get("rule"))
        put(event, "url.original", kv.get("arg"))
        put(event, "url.domain", kv.get("dstname"))
        finish_network(event, nat_related=True)
        finish_related(event)
        return event

    def _endpoint(self, event: Event, side: str, iface_path: str | None,
                  value: str | None) -> None:
        """``IP[:port[:interface[:host]]]`` into ``side.ip/port``, interface and address."""
        if not value:
            return
        parts = value.split(":")
        if len(parts) > 4 or (_may_be_ipv6(value) and _is_ip(value)):
            # a bare (IPv6) address: nothing to split
            put(event, f"{side}.ip", value)
            return
        put(event, f"{side}.ip", parts[0])
        if len(parts) > 1:
            put(event, f"{side}.port", to_int(parts[1]))
        if len(parts) > 2 and iface_path:
            put(event, iface_path, parts[2])
        if len(parts) > 3 and not side.endswith("nat"):
            put(event, f"{side}.address", parts[3])


def _may_be_ipv6(text: str) -> bool:
    """Whether ``ip_address`` could accept a text already split on ``:`` (cheap, and it
    spares the raised ValueError for every ``IP:port:zone`` endpoint): IPv6 needs two
    colons before any scope id and dots only after the last one (an embedded IPv4);
    without a colon the text is ``parts[0]`` either way."""
    address = text.partition("%")[0]  # a scope id ("%eth0") may hold any character
    return address.count(":") >= 2 and "." not in address[:address.rfind(":")]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _note_protocol(note: str) -> str | None:
    marker = note.find("Protocol:")
    if marker < 0:
        return None
    return note[marker + 9:].split()[0] if note[marker + 9:].split() else None


@lru_cache(maxsize=1024)  # consecutive records mostly share their second
def _time(text: str, tz: tzinfo) -> datetime | None:
    m = _STAMP.fullmatch(text)
    if m:
        # The common layout without strptime (which costs more than the rest of a parse);
        # anything else, or a value out of range, takes the strptime path below.
        year, _, month, day, hour, minute, second = m.groups()
        try:
            return datetime(int(year), int(month), int(day), int(hour), int(minute),
                            int(second), tzinfo=tz)
        except ValueError:
            pass
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None
