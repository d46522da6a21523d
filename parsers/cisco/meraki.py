"""``cisco.meraki``: Meraki MX/MR/MS syslog (flows, firewall, urls, ids-alerts, events...) to ECS.

``<pri>1 <epoch> <device> <type> k=v k='v' ... [pattern:|request:|message: text]`` as the
Meraki dashboard sends it (Meraki's "Syslog Event Types and Log Samples"). One regex for
the header, :func:`parsers.kv.parse_kv` for the pairs; the type selects the ECS mapping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.cisco.asa import IANA_NUMBERS
from parsers.cisco.ios import prune_related
from parsers.community_id import community_id, is_ip
from parsers.kv import parse_kv
from parsers.syslog import iso_utc
from parsers.urls import apply_url
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

# A relay (rsyslog, syslog-ng) may put its own BSD or ISO header before the record.
_RELAY: Final = (r"(?:(?:[A-Z][a-z]{2} +\d{1,2} (?:\d{4} )?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?"
                 r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\S*) (?P<relay>\S+) )?")
_HEADER: Final = re.compile(
    r"(?:<(?P<pri>\d{1,3})>\s*)?" + _RELAY
    + r"(?:1 )?(?P<epoch>\d{9,11}\.\d+) (?P<device>\S+) (?P<type>[a-z_\-]+)(?: (?P<rest>.*))?",
    re.S,
)
# The free text that ends a Meraki record, after its key=value pairs.
_TAIL: Final = re.compile(r"\s(?P<key>pattern|request|message|url|decision_text):\s(?P<text>.*)$", re.S)
_NETWORK_TYPES: Final = frozenset({
    "flows", "firewall", "vpn_firewall", "cellular_firewall", "bridge_anyconnect_client_vpn_firewall",
})
_IDS_TYPES: Final = frozenset({"ids-alerts", "security_event"})


def _endpoint(value: str) -> tuple[str | None, int | None]:
    """``10.0.0.1:443`` / ``10.0.0.1`` / ``[fe80::1]:443`` to (ip, port)."""
    if is_ip(value):
        return value, None
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if is_ip(host) and port.isdecimal():
        return host, int(port)
    return None, None


class CiscoMerakiParser(BaseParser):
    """Meraki syslog records to ECS; the raw pairs stay under ``cisco.meraki``."""

    id = "cisco.meraki"
    route_signals: ClassVar[tuple[str, ...]] = (" flows src=", " urls src=", " ids-alerts ", " security_event ",
                                                " airmarshal_events ", " vpn_firewall ")
    # Any record type, with or without the syslog header, and behind a relay's header.
    route_patterns: ClassVar[tuple[str, ...]] = (
        r"^(?:<\d{1,3}>\s*)?" + _RELAY + r"(?:1 )?\d{9,11}\.\d{1,9} \S+ [a-z_\-]+",)

    def accepts(self, raw: RawEvent) -> bool:
        return _HEADER.match(raw.message) is not None

    def parse(self, raw: RawEvent) -> Event:
        m = _HEADER.match(raw.message)
        if m is None:
            raise ParseError(self.id, "no Meraki header (<pri>1 epoch device type)")
        event = self.new_event(raw)
        try:
            event["@timestamp"] = iso_utc(datetime.fromtimestamp(float(m.group("epoch")), UTC))
        except (OverflowError, ValueError, OSError):
            raise ParseError(self.id, f"epoch out of range: {m.group('epoch')}") from None
        kind = m.group("type")
        rest = m.group("rest") or ""
        meraki: dict[str, Any] = {"event_type": kind}
        tail = _TAIL.search(" " + rest)
        if tail is not None:
            meraki[tail.group("key")] = tail.group("text").strip()
            rest = (" " + rest)[: tail.start()].strip()
        words = rest.split(" ", 1)
        if words and words[0] and "=" not in words[0]:
            meraki["event_subtype"] = words[0]  # "security_event ids_alerted ..."
            rest = words[1] if len(words) > 1 else ""
        pairs = parse_kv(rest)
        meraki.update(pairs)
        event["observer"] = {"hostname": m.group("device"), "vendor": "Cisco", "product": "Meraki"}
        add_related(event, "hosts", m.group("device"))
        self._ecs(event, kind, meraki)
        event["cisco"] = {"meraki": meraki}
        prune_related(event)
        return event

    @staticmethod
    def _ecs(event: Event, kind: str, meraki: dict[str, Any]) -> None:
        ecs = event["event"]
        ecs["action"] = meraki.get("event_subtype") or meraki.get("type") or kind
        source: dict[str, Any] = {}
        destination: dict[str, Any] = {}
        for key, side in (("src", source), ("dst", destination)):
            if key in meraki:
                ip, port = _endpoint(str(meraki[key]))
                if ip is not None:
                    side["ip"] = ip
                if port is not None:
                    side["port"] = port
        for key, side in (("sport", source), ("dport", destination)):
            if str(meraki.get(key, "")).isdecimal():
                side["port"] = int(meraki[key])
        for key, side in (("mac", source), ("shost", source), ("dhost", destination)):
            if meraki.get(key):
                side["mac"] = str(meraki[key]).upper().replace(":", "-")
        if source:
            event["source"] = source
        if destination:
            event["destination"] = destination
        network: dict[str, Any] = {}
        protocol = str(meraki.get("protocol", "")).lower().split("/", 1)[0]
        if protocol:
            network["transport"] = protocol
            if protocol in IANA_NUMBERS:
                network["iana_number"] = IANA_NUMBERS[protocol]
        if meraki.get("direction") in ("ingress", "egress"):
            network["direction"] = meraki["direction"]
        pattern = str(meraki.get("pattern", ""))
        decision = str(meraki.get("decision", "")).lower()
        if kind in _NETWORK_TYPES:
            ecs["category"] = ["network"]
            ecs["type"] = ["connection"]
            verdict = pattern.split(" ", 1)[0].lower()
            if verdict in ("allow", "deny"):
                ecs["type"].append("allowed" if verdict == "allow" else "denied")
                ecs["outcome"] = "success"
                event["rule"] = {"name": pattern}
        elif kind == "urls":
            ecs["category"] = ["network", "web"]
            ecs["type"] = ["access"]
            request = str(meraki.get("request", ""))
            method, _, url = request.partition(" ")
            if url:
                event["http"] = {"request": {"method": method}}
                apply_url(event, url.strip())
        elif kind in _IDS_TYPES:
            ecs["kind"] = "alert"
            ecs["category"] = ["intrusion_detection", "network"]
            ecs["type"] = ["info"]
            if decision in ("blocked", "allowed"):
                ecs["type"].append("denied" if decision == "blocked" else "allowed")
            rule: dict[str, Any] = {}
            if meraki.get("signature"):
                rule["id"] = meraki["signature"]
            if meraki.get("message"):
                rule["description"] = meraki["message"]
                event["message"] = meraki["message"]
            if rule:
                event["rule"] = rule
        elif kind in ("events", "airmarshal_events"):
            ecs["category"] = ["network"]
            ecs["type"] = ["info"]
        if network:
            event["network"] = network
        add_related(event, "ip", source.get("ip"), destination.get("ip"))
        cid = community_id(source.get("ip"), destination.get("ip"), source.get("port"), destination.get("port"),
                           network.get("iana_number"))
        if cid is not None:
            event.setdefault("network", {})["community_id"] = cid
