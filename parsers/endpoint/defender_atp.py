"""Microsoft Defender for Endpoint (formerly Defender ATP) alerts to ECS
(``microsoft.defender_atp``).

Input: one alert per line as the Defender for Endpoint ``/api/alerts`` API returns it
(with ``$expand=evidence``), ``evidence`` already split to one item per line as
Filebeat's input does (a one-item list is accepted too). Mapping after Filebeat's
``microsoft/defender_atp`` ingest pipeline: empty-looking values (``""``, ``"-"``,
``"N/A"``, null) are dropped first; the alert gives ``event.*``, ``threat.*``,
``rule.description``, ``host.*``, ``user.*`` and ``observer.*``; the evidence gives
``file.*``, ``process.*`` and ``url.*``. The alert stays under ``microsoft.defender_atp``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.endpoint.common import epoch_nanos, load_object, put_number, put_text, put_time, put_value, related
from parsers.endpoint.urls import uri_parts
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, set_field

SEVERITIES: Final = {"Unspecified": 0, "Informational": 1, "Low": 2, "Medium": 3, "High": 4}
_EMPTY: Final = (None, "", "-", "N/A")
# Elastic keeps a description in rule.description only below this length.
_MAX_DESCRIPTION: Final = 1020


def _without_empty(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not (v is None or (isinstance(v, str) and v in _EMPTY))}


class DefenderAtpParser(BaseParser):
    """One Defender for Endpoint alert (with one evidence item) to an ECS alert."""

    id = "microsoft.defender_atp"
    json_keys: ClassVar[tuple[str, ...]] = ("alertCreationTime", "machineId")
    route_signals: ClassVar[tuple[str, ...]] = ('"alertCreationTime"',)

    def accepts(self, raw: RawEvent) -> bool:
        return b'"alertCreationTime"' in raw.data or b'"machineId"' in raw.data

    def parse(self, raw: RawEvent) -> Event:
        doc = _without_empty(load_object(self.id, raw))
        if "id" not in doc and "alertCreationTime" not in doc:
            raise ParseError(self.id, "not a Defender for Endpoint alert (no id/alertCreationTime)")
        evidence_raw = doc.get("evidence")
        if isinstance(evidence_raw, list):
            evidence_raw = evidence_raw[0] if len(evidence_raw) == 1 else None
        evidence = _without_empty(evidence_raw) if isinstance(evidence_raw, dict) else {}
        event = self.new_event(raw)
        ev = event["event"]
        ev["kind"] = "alert"
        ev["provider"] = "defender_atp"
        set_field(event, "cloud.provider", "azure")
        put_time(event, "@timestamp", doc.get("lastUpdateTime"))
        put_value(event, "cloud.account.id", doc.get("aadTenantId"))
        put_value(event, "cloud.instance.id", doc.get("machineId"))
        put_value(event, "message", doc.get("title"))
        category = doc.get("category")
        if category is not None:
            ev["action"] = category
        put_time(event, "event.created", doc.get("alertCreationTime"))
        categories = ["host"]
        if category == "Malware":
            categories.append("malware")
        if evidence.get("entityType") == "Process":
            categories.append("process")
        ev["category"] = categories
        types: list[str] = []
        if evidence.get("entityType") == "User":
            types.append("user")
        if doc.get("status") == "New":
            types += ["creation", "start"]
        elif doc.get("status") == "Resolved":
            types.append("end")
        if types:
            ev["type"] = types
        put_value(event, "event.id", doc.get("id"))
        put_value(event, "event.start", doc.get("firstEventTime"))
        put_value(event, "event.end", doc.get("lastEventTime"))
        severity = SEVERITIES.get(str(doc.get("severity")))
        if severity is not None:
            ev["severity"] = severity
        start, end = epoch_nanos(doc.get("firstEventTime")), epoch_nanos(doc.get("lastEventTime"))
        if start is not None and end is not None:
            ev["duration"] = end - start
        if category is not None:
            event["threat"] = {"framework": "MITRE ATT&CK", "technique": {"name": category}}
        description = doc.get("description")
        if isinstance(description, str) and len(description) < _MAX_DESCRIPTION:
            set_field(event, "rule.description", description)
        self._evidence(event, evidence)
        event["observer"] = {"product": "Defender ATP", "vendor": "Microsoft"}
        put_value(event, "observer.name", doc.get("detectionSource"))
        hostname = doc.get("computerDnsName")
        if isinstance(hostname, str) and hostname:
            event["host"] = {"hostname": hostname, "name": hostname}
        user_info = doc.get("relatedUser")
        related_user: dict[str, Any] = user_info if isinstance(user_info, dict) else {}
        put_value(event, "user.name", related_user.get("userName"))
        put_value(event, "user.domain", related_user.get("domainName"))
        put_value(event, "user.id", evidence.get("userSid"))
        for key in ("name", "domain", "id"):
            value = (event.get("user") or {}).get(key)
            if value:
                set_field(event, f"host.user.{key}", value)
        related(event, "ip", evidence.get("ipAddress"))
        related(event, "user", (event.get("user") or {}).get("name"))
        file_hash = (event.get("file") or {}).get("hash") or {}
        related(event, "hash", file_hash.get("sha1"), file_hash.get("sha256"))
        if isinstance(hostname, str) and hostname:
            related(event, "hosts", hostname)
        vendor = {k: v for k, v in doc.items() if k not in ("alertCreationTime", "severity", "relatedUser")}
        if evidence_raw is not None:
            vendor["evidence"] = evidence
        set_field(event, "microsoft.defender_atp", vendor)
        return event

    @staticmethod
    def _evidence(event: Event, evidence: dict[str, Any]) -> None:
        for source, target in (
            ("fileName", "file.name"), ("sha256", "file.hash.sha256"), ("sha1", "file.hash.sha1"),
            ("filePath", "file.path"), ("processCommandLine", "process.command_line"),
            ("processCreationTime", "process.start"), ("parentProcessCreationTime", "process.parent.start"),
        ):
            put_text(event, target, evidence.get(source))
        put_number(event, "process.pid", evidence.get("processId"))
        put_number(event, "process.parent.pid", evidence.get("parentProcessId"))
        url = evidence.get("url")
        if isinstance(url, str) and url:
            parts = uri_parts(url)
            event["url"] = {"full": url, **parts}
