"""Microsoft 365 Defender incidents to ECS (``microsoft.m365_defender``).

Input: one incident per line as the Microsoft 365 Defender incidents API returns it,
with ``alerts`` already split to one alert (and ``alerts.entities`` to one entity) per
line, as Filebeat's ``m365_defender`` input does. Mapping after Filebeat's
``microsoft/m365_defender`` ingest pipeline: the alert gives ``event.*``, ``threat.*``
and ``rule.description``; the entity gives ``file.*``, ``process.*``, ``user.*`` or an
IP; devices give ``related.hosts``. The vendor fields stay under
``microsoft.m365_defender``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.endpoint.common import (
    epoch_nanos,
    load_object,
    put_number,
    put_text,
    put_time,
    put_value,
    related,
    without_nulls,
)
from parsers.endpoint.urls import uri_parts
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, set_field

# Matched case-sensitively, as Elastic does ("UnSpecified" from the API maps to nothing).
SEVERITIES: Final = {"Unspecified": 0, "Informational": 1, "Low": 2, "Medium": 3, "High": 4}


class M365DefenderParser(BaseParser):
    """One Microsoft 365 Defender incident/alert line to an ECS alert."""

    id = "microsoft.m365_defender"
    json_keys: ClassVar[tuple[str, ...]] = ("incidentId", "incidentName")
    route_signals: ClassVar[tuple[str, ...]] = ('"incidentId"',)

    def accepts(self, raw: RawEvent) -> bool:
        return b'"incidentId"' in raw.data

    def parse(self, raw: RawEvent) -> Event:
        doc = load_object(self.id, raw)
        if "incidentId" not in doc:
            # Filebeat drops API envelopes such as {"value": []}; here they become
            # dead letters so nothing disappears without a trace.
            raise ParseError(self.id, "not an incident (no incidentId)")
        event = self.new_event(raw)
        ev = event["event"]
        ev["kind"] = "alert"
        ev["category"] = ["host"]
        set_field(event, "cloud.provider", "azure")
        event["observer"] = {"vendor": "Microsoft", "product": "365 Defender"}
        event["tags"] = ["forwarded", "m365-defender"]
        put_time(event, "@timestamp", doc.get("lastUpdateTime") or doc.get("createdTime"))
        put_time(event, "event.created", doc.get("createdTime"))
        # Categorisation comes from the incident, as in Elastic's pipeline.
        if doc.get("determination") == "Malware":
            ev["category"].append("malware")
        status = doc.get("status")
        if status == "New":
            ev["type"] = ["creation", "start"]
        elif status == "Resolved":
            ev["type"] = ["end"]
        severity = SEVERITIES.get(str(doc.get("severity", "")))
        if severity is not None:
            ev["severity"] = severity
        alert = doc.get("alerts")
        if isinstance(alert, list):
            alert = alert[0] if len(alert) == 1 and isinstance(alert[0], dict) else None
        if isinstance(alert, dict):
            self._alert(event, alert)
        else:
            put_value(event, "message", doc.get("incidentName"))
        vendor = without_nulls({k: v for k, v in doc.items() if k not in ("alerts",)})
        if isinstance(alert, dict):
            vendor["alerts"] = without_nulls({k: v for k, v in alert.items() if k not in ("description", "title")})
        for key in ("incidentId",):
            if key in vendor:
                vendor[key] = str(vendor[key])
        if isinstance(vendor.get("alerts"), dict) and "incidentId" in vendor["alerts"]:
            vendor["alerts"]["incidentId"] = str(vendor["alerts"]["incidentId"])
        set_field(event, "microsoft.m365_defender", vendor)
        return event

    def _alert(self, event: Event, alert: dict[str, Any]) -> None:
        ev = event["event"]
        put_text(event, "message", alert.get("title"))
        description = alert.get("description")
        # Elastic keeps only descriptions shorter than 1020 characters in rule.description.
        if isinstance(description, str) and len(description) < 1020:
            put_text(event, "rule.description", description)
        category = alert.get("category")
        if isinstance(category, str) and category:
            ev["action"] = category
            event["threat"] = {"framework": "MITRE ATT&CK", "technique": {"name": category}}
            techniques = alert.get("mitreTechniques")
            if isinstance(techniques, list) and techniques:
                event["threat"]["technique"]["id"] = techniques
        provider = alert.get("serviceSource")
        if isinstance(provider, str) and provider:
            ev["provider"] = provider
            event["observer"]["name"] = provider
        put_value(event, "event.id", alert.get("alertId"))
        put_time(event, "event.start", alert.get("firstActivity"))
        put_time(event, "event.end", alert.get("lastActivity"))
        start, end = epoch_nanos(alert.get("firstActivity")), epoch_nanos(alert.get("lastActivity"))
        if start is not None and end is not None:
            ev["duration"] = end - start
        devices = alert.get("devices")
        if isinstance(devices, list):
            for device in devices:
                if isinstance(device, dict):
                    related(event, "hosts", device.get("deviceDnsName"))
        entity = alert.get("entities")
        if isinstance(entity, list):
            entity = entity[0] if len(entity) == 1 else None
        if isinstance(entity, dict):
            self._entity(event, entity)

    @staticmethod
    def _entity(event: Event, entity: dict[str, Any]) -> None:
        put_text(event, "file.name", entity.get("fileName"))
        put_text(event, "file.path", entity.get("filePath"))
        for algo in ("sha1", "sha256", "md5"):
            value = entity.get(algo)
            if isinstance(value, str) and value:
                set_field(event, f"file.hash.{algo}", value)
                related(event, "hash", value)
        put_number(event, "process.pid", entity.get("processId"))
        put_time(event, "process.start", entity.get("processCreationTime"))
        put_text(event, "process.command_line", entity.get("processCommandLine"))
        put_number(event, "process.parent.pid", entity.get("parentProcessId"))
        put_time(event, "process.parent.start", entity.get("parentProcessCreationTime"))
        user = entity.get("userPrincipalName")
        if isinstance(user, str) and user:
            set_field(event, "user.name", user)
            related(event, "user", user)
        put_text(event, "user.id", entity.get("aadUserId"))
        put_text(event, "user.domain", entity.get("domainName"))
        related(event, "ip", entity.get("ipAddress"))
        url = entity.get("url")
        if isinstance(url, str) and url:
            event["url"] = {"full": url, **uri_parts(url)}
        put_text(event, "registry.key", entity.get("registryKey"))
        put_text(event, "registry.hive", entity.get("registryHive"))
        put_text(event, "registry.value", entity.get("registryValue"))
        put_text(event, "email.subject", entity.get("subject"))
        put_text(event, "email.sender.address", entity.get("sender"))
