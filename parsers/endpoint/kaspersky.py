"""Kaspersky Security Center events exported to a SIEM in CEF (``kaspersky.ksc``).

Format (Kaspersky Security Center help, "Configuring event export to SIEM systems" and
"Event fields in CEF format"): ``CEF:0|KasperskyLab|SecurityCenter|<version>|<event
type>|<event name>|<severity>|msg=... rt=... dhost=... dst=... cs2=<product>
cs2Label=ProductName ...``, usually behind a syslog header. ``dhost``/``dst`` name the
managed device the event happened on (so they become ``host.*`` rather than
``destination.*``); labelled custom strings/numbers keep their label as the field name
under ``kaspersky``; the ``msg`` of Kaspersky Endpoint Security events is a list of
``Name: value`` lines (``Name``, ``Object``, ``User``...) that give ``rule.name``,
``file.*`` and ``user.*``. The CEF itself is decoded by the shared ``parsers.cef``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.cef import cef_to_ecs, decode_cef
from parsers.syslog import apply_header, split_syslog
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, pop_field, set_field

# Event type (CEF class id) -> (action, category, type, is an alert). Names from the
# Kaspersky Endpoint Security event list in the KSC documentation.
EVENTS: Final[dict[str, tuple[str, list[str], list[str], bool]]] = {
    "GNRL_EV_VIRUS_FOUND": ("malware-detected", ["malware"], ["info"], True),
    "GNRL_EV_SUSPICIOUS_OBJECT_FOUND": ("suspicious-object-detected", ["malware"], ["info"], True),
    "GNRL_EV_OBJECT_CURED": ("object-disinfected", ["malware", "file"], ["change"], True),
    "GNRL_EV_OBJECT_DELETED": ("object-deleted", ["malware", "file"], ["deletion"], True),
    "GNRL_EV_OBJECT_QUARANTINED": ("object-quarantined", ["malware", "file"], ["change"], True),
    "GNRL_EV_OBJECT_NOTCURED": ("object-not-disinfected", ["malware"], ["info"], True),
    "GNRL_EV_OBJECT_BLOCKED": ("object-blocked", ["malware"], ["denied"], True),
    "GNRL_EV_ATTACK_DETECTED": ("network-attack-detected", ["intrusion_detection", "network"], ["denied"], True),
    "GNRL_EV_APP_LAUNCH_DENIED": ("application-launch-denied", ["process"], ["denied"], True),
    "GNRL_EV_WEB_URL_BLOCKED": ("url-blocked", ["web"], ["denied"], True),
    "KLPRCI_TaskState": ("task-state-changed", ["process"], ["change"], False),
    "KLAUD_EV_OBJECTMODIFY": ("object-modified", ["configuration"], ["change"], False),
    "KLAUD_EV_SERVERCONNECT": ("console-connected", ["authentication"], ["start"], False),
}
_DETAIL_LINE: Final = re.compile(r"^\s*(?P<key>[A-Za-z][\w /-]{0,40}?):\s*(?P<value>.*?)\s*$")
_USER: Final = re.compile(r"^(?:(?P<domain>[^\\]+)\\)?(?P<name>[^()]+?)(?:\s*\(.*\))?$")


def _snake(label: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", label).replace(" ", "_").lower()


def parse_details(message: str) -> dict[str, str]:
    """``Name: value`` lines of a Kaspersky event description."""
    out: dict[str, str] = {}
    for line in message.replace("\r\n", "\n").split("\n"):
        m = _DETAIL_LINE.match(line)
        if m and m.group("value"):
            out.setdefault(m.group("key").strip(), m.group("value"))
    return out


class KasperskyKscParser(BaseParser):
    """Kaspersky Security Center CEF events to ECS."""

    id = "kaspersky.ksc"
    route_signals: ClassVar[tuple[str, ...]] = ("CEF:0|KasperskyLab|", "CEF:1|KasperskyLab|")

    def accepts(self, raw: RawEvent) -> bool:
        return b"|KasperskyLab|" in raw.data

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        record = decode_cef(text)
        if record is None:
            raise ParseError(self.id, "not a CEF message")
        if record.vendor != "KasperskyLab":
            raise ParseError(self.id, f"CEF from {record.vendor!r}, not KasperskyLab")
        event = self.new_event(raw)
        now = self.options.clock.now()
        if record.prefix.strip():
            header = split_syslog(record.prefix.rstrip() + " ", self.options.tz, now)
            if header is not None:
                apply_header(event, header, message=False)
                # The syslog sender is the KSC server, not the device the event is about.
                sender = pop_field(event, "host.hostname")
                event.pop("host", None)
                if isinstance(sender, str):
                    set_field(event, "observer.hostname", sender)
        problems = cef_to_ecs(event, record, self.options.tz, now)
        if problems:
            event["error"] = {"message": problems}
        # dhost/dst: the managed device, not a network destination.
        hostname, ip = pop_field(event, "destination.domain"), pop_field(event, "destination.ip")
        if not event.get("destination"):
            event.pop("destination", None)
        if isinstance(hostname, str):
            set_field(event, "host.name", hostname)
            set_field(event, "host.hostname", hostname)
            add_related(event, "hosts", hostname)
        if isinstance(ip, str):
            set_field(event, "host.ip", [ip])
            add_related(event, "ip", ip)
        vendor = self._labelled(record.extensions)
        entry = EVENTS.get(record.class_id)
        ev = event["event"]
        ev["action"] = entry[0] if entry else record.class_id
        if entry:
            ev["category"], ev["type"] = list(entry[1]), list(entry[2])
            if entry[3]:
                ev["kind"] = "alert"
        message = record.extensions.get("message", "")
        details = parse_details(message) if message else {}
        if details:
            vendor["details"] = details
            self._details(event, details)
        if vendor:
            event["kaspersky"] = vendor
        return event

    @staticmethod
    def _labelled(extensions: dict[str, str]) -> dict[str, Any]:
        """``cs2=KES cs2Label=ProductName`` -> ``{"product_name": "KES"}`` (any csN/cnN)."""
        out: dict[str, Any] = {}
        for key, value in extensions.items():
            label = extensions.get(f"{key}Label")
            if not label or key.endswith("Label"):
                continue
            out[_snake(label)] = value
        return out

    @staticmethod
    def _details(event: Event, details: dict[str, str]) -> None:
        name = details.get("Name") or details.get("Detected object") or details.get("Threat name")
        if name:
            set_field(event, "rule.name", name)
        path = details.get("Object path") or details.get("Path")
        obj = details.get("Object name") or details.get("Object")
        full: str | None
        if path and obj and not obj.startswith(path):
            full = path.rstrip("\\/") + ("\\" if "\\" in path else "/") + obj
        else:
            full = obj or path
        if full:
            set_field(event, "file.path", full)
            set_field(event, "file.name", full.replace("/", "\\").rsplit("\\", 1)[-1])
        for key, algo in (("MD5", "md5"), ("SHA256", "sha256")):
            value = details.get(key)
            if value:
                set_field(event, f"file.hash.{algo}", value.lower())
                add_related(event, "hash", value.lower())
        user = details.get("User")
        m = _USER.match(user) if user else None
        if m:
            set_field(event, "user.name", m.group("name").strip())
            if m.group("domain"):
                set_field(event, "user.domain", m.group("domain"))
            add_related(event, "user", m.group("name").strip())
