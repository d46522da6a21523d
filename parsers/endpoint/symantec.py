"""Symantec Endpoint Protection Manager syslog export to ECS (``symantec_endpoint.log``).

Format (Broadcom/Symantec "Exporting data to a Syslog server" and the SEPM "Syslog
message formats" reference): a syslog header, then comma-separated fields; the first
is the event description for the risk and application-control logs (``Virus found``,
``Security risk found``...), every other field is ``Name: value`` (``Risk name``,
``File path``, ``Computer name``, ``IP Address``, ``Actual action``, ``Event time``...).
Network-threat and traffic logs use ``Local Host IP``/``Remote Host IP`` and ports.
The dataset is named after Elastic's ``symantec_endpoint.log`` data stream; every
field stays under ``symantec_endpoint.log`` with snake-case names. Times without a zone
are read in the ``--tz`` given (SEPM writes its server's local time).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.endpoint.common import related
from parsers.syslog import apply_header, split_syslog
from parsers.windows.fields import basename
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp, set_field

# A field separator: a comma followed by "Name: " (names are short, start upper-case).
_SPLIT: Final = re.compile(r",(?=\s?[A-Za-z][\w ()./&-]{0,48}?:(?: |$|,))")
_FIELD: Final = re.compile(r"^\s?(?P<key>[A-Za-z][\w ()./&-]{0,48}?):(?: (?P<value>.*)|(?P<empty>))$", re.S)
_RISK_EVENTS: Final = ("virus found", "security risk found", "risk repair", "suspicious behavior detected",
                       "compressed file", "commercial application detected")
# SEPM writes the unspecified address when one end is unknown; it is not an address to keep.
_UNSPECIFIED: Final = ".".join("0" * 4)
_ACTIONS_DELETING: Final = ("deleted", "cleaned by deletion")


def _snake(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


def split_fields(text: str) -> tuple[str | None, dict[str, str]]:
    """The leading description (if any) and the ``Name: value`` fields of a message."""
    description: str | None = None
    fields: dict[str, str] = {}
    for i, part in enumerate(_SPLIT.split(text)):
        m = _FIELD.match(part)
        if m:
            fields.setdefault(m.group("key").strip(), (m.group("value") or "").strip())
        elif i == 0:
            description = part.strip()
    return description, fields


class SymantecEndpointParser(BaseParser):
    """SEPM syslog messages (risk, network threat, traffic, system logs) to ECS."""

    id = "symantec_endpoint.log"
    syslog_programs: ClassVar[tuple[str, ...]] = ("SymantecServer",)
    route_signals: ClassVar[tuple[str, ...]] = ("SymantecServer", "Risk name: ", "Computer name: ")

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        return "SymantecServer" in text or ("Computer name: " in text and "," in text)

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message.strip()
        event = self.new_event(raw)
        header = split_syslog(text, self.options.tz, self.options.clock.now())
        if header is not None and header.message:
            apply_header(event, header, message=False)
            sender = event.pop("host", {}).get("hostname")
            event.pop("related", None)
            if sender == "SymantecServer" and header.program:
                # SEPM writes the literal "SymantecServer" where a host name would be,
                # then its own server name where a program name would be.
                sender = header.program
                event.pop("process", None)
            if sender:
                set_field(event, "observer.hostname", sender)
            text = header.message.strip()
        description, fields = split_fields(text)
        if len(fields) < 2:
            raise ParseError(self.id, "no 'Name: value' fields")
        event["message"] = text
        set_field(event, "observer.vendor", "Symantec")
        set_field(event, "observer.product", "Endpoint Protection")
        self._map(event, description, fields)
        vendor: dict[str, Any] = {_snake(k): v for k, v in fields.items() if v}
        if description:
            vendor["event_description"] = description
        set_field(event, "symantec_endpoint.log", vendor)
        return event

    def _time(self, value: str | None) -> str | None:
        if not value:
            return None
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
            try:
                return format_timestamp(datetime.strptime(value.strip(), fmt).replace(tzinfo=self.options.tz))
            except (ValueError, OverflowError):  # malformed, or out of range once in UTC
                continue
        return None

    def _map(self, event: Event, description: str | None, f: dict[str, str]) -> None:
        ev = event["event"]
        when = self._time(f.get("Event time") or f.get("Begin") or f.get("Event Time"))
        if when:
            event["@timestamp"] = when
        end = self._time(f.get("End Time") or f.get("End"))
        if end:
            ev["end"] = end
        hostname = f.get("Computer name") or f.get("Host Name")
        if hostname:
            set_field(event, "host.hostname", hostname)
            set_field(event, "host.name", hostname)
            related(event, "hosts", hostname)
        host_ip = f.get("IP Address")
        if host_ip:
            set_field(event, "host.ip", [host_ip])
            related(event, "ip", host_ip)
        user = f.get("User Name") or f.get("User")
        if user and user.lower() not in ("none", "system"):
            domain, sep, name = user.partition("\\")
            set_field(event, "user.name", name if sep else user)
            if sep:
                set_field(event, "user.domain", domain)
            related(event, "user", name if sep else user)
        risk = f.get("Risk name")
        if (description and description.lower().startswith(_RISK_EVENTS)) or risk:
            ev.update(kind="alert", category=["malware"], type=["info"])
            if risk:
                set_field(event, "rule.name", risk)
        action = f.get("Actual action")
        ev["action"] = action.lower() if action else (description or "").lower() or None
        if ev["action"] is None:
            del ev["action"]
        if action and action.lower() in _ACTIONS_DELETING:
            ev["type"] = ["deletion"]
        path = f.get("File path") or f.get("Application")
        if path:
            set_field(event, "file.path", path)
            set_field(event, "file.name", basename(path))
        digest = f.get("Application hash")
        if digest and len(digest) == 64:
            set_field(event, "file.hash.sha256", digest.lower())
            related(event, "hash", digest.lower())
        size = f.get("File size (bytes)")
        if size and size.isdecimal():
            set_field(event, "file.size", int(size))
        self._network(event, f)

    @staticmethod
    def _network(event: Event, f: dict[str, str]) -> None:
        """Network threat and traffic logs: local and remote ends of the connection."""
        local, remote = f.get("Local Host IP"), f.get("Remote Host IP")
        if not (local or remote):
            return
        inbound = (f.get("Direction") or f.get("Traffic Direction") or "").lower().startswith("in")
        src, dst = ("remote", "local") if inbound else ("local", "remote")
        for side, which in (("source", src), ("destination", dst)):
            ip = local if which == "local" else remote
            port = f.get("Local Port" if which == "local" else "Remote Port")
            if ip and ip != _UNSPECIFIED:
                set_field(event, f"{side}.ip", ip)
                related(event, "ip", ip)
            if port and port.isdecimal():
                set_field(event, f"{side}.port", int(port))
        if f.get("Direction") or f.get("Traffic Direction"):
            set_field(event, "network.direction", "ingress" if inbound else "egress")
        event["event"].setdefault("category", ["network"])
        intrusion = f.get("Intrusion ID") or f.get("Event Description")
        if intrusion:
            set_field(event, "rule.name", intrusion)
