"""Microsoft Defender Antivirus events (Microsoft-Windows-Windows Defender/Operational)
to ECS, after Elastic's ``windows.windows_defender`` pipeline, plus ``threat.*``.

Event ids and field names follow Microsoft's "Microsoft Defender Antivirus event IDs"
reference (1116 detected, 1117 action taken, 2000 signatures updated, 2050 file
uploaded, 5007 configuration changed). Winlogbeat writes event-data names with
underscores (``Threat_Name``, ``Detection_User``), which is what this mapping reads.
"""

from __future__ import annotations

import re
from typing import Any, Final

from parsers.windows.sysmon import put_domain_user
from soc_core.event import Event, set_field

_DETECTIONS: Final = frozenset({"1116", "1117"})
_RESOURCE_PREFIX: Final = re.compile(r".*:_")  # "file:_C:\\x.exe" -> "C:\\x.exe" (greedy, as Elastic's gsub)


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def map_defender(winlog: dict[str, Any], event: Event) -> None:
    """Fill ECS fields of a Defender Operational event from ``winlog``."""
    code = str(winlog.get("event_id", ""))
    data: dict[str, Any] = winlog.get("event_data") or {}
    ev = event["event"]
    actions = {"5007": "antivirus-configuration-changed", "2000": "antivirus-updated", "2050": "file-uploaded"}
    if code in actions:
        ev["action"] = actions[code]
    if code in _DETECTIONS:
        ev["action"] = "malware-detected"
        if code == "1117" and data.get("Action_Name") == "Quarantine":
            ev["action"] = "malware-quarantined"
    category = {"5007": "configuration", "2050": "file"}.get(code, "malware" if code in _DETECTIONS else "process")
    ev["category"] = [category]
    ev["kind"] = "event"
    if data.get("Error_Description") == "The operation completed successfully. ":
        ev["outcome"] = "success"
    if _text(data, "FWLink"):
        ev["reference"] = data["FWLink"]
    ev["type"] = ["change"] if code == "5007" else ["info"]
    if _text(data, "Destination"):
        set_field(event, "destination.domain", data["Destination"])
    put_domain_user(event, "user", data.get("User") or data.get("Detection_User"))
    raw_path = _text(data, "Path") or _text(data, "FileName") or _text(data, "Filename")
    if raw_path:
        path = _RESOURCE_PREFIX.sub("", raw_path)
        set_field(event, "file.path", path)
        name = path.rsplit("\\", 1)[-1]
        if name:
            set_field(event, "file.name", name)
            if "." in name:
                set_field(event, "file.extension", name.split(".", 1)[1])
    sha256 = _text(data, "Sha256")
    if sha256 and sha256 != "-":
        set_field(event, "file.hash.sha256", sha256)
    if _text(data, "Target_Commandline"):
        set_field(event, "process.command_line", data["Target_Commandline"])
    if _text(data, "Parent_Commandline"):
        set_field(event, "process.parent.command_line", data["Parent_Commandline"])
    process = _text(data, "Process_Name")
    if process:
        set_field(event, "process.name" if code == "1126" else "process.executable", process)
        if code != "1126":
            set_field(event, "process.name", process.rsplit("\\", 1)[-1])
    # threat.* and rule.name: the detection itself, for hunting across AV products.
    if _text(data, "Threat_Name"):
        set_field(event, "threat.software.name", data["Threat_Name"])
        set_field(event, "rule.name", data["Threat_Name"])
    if _text(data, "Threat_ID"):
        set_field(event, "threat.software.id", data["Threat_ID"])
    if _text(data, "Category_Name"):
        set_field(event, "threat.software.type", data["Category_Name"])
    severity = data.get("Severity_ID")
    if isinstance(severity, str) and severity.isdecimal():
        ev["severity"] = int(severity)
