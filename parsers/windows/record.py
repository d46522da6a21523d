"""Windows event records to the ``winlog.*`` shape Winlogbeat produces.

Three inputs reach this module: the JSON rendering of an EVTX record by the ``evtx``
package (``{"Event": {"System": ..., "EventData": ...}}``, which is also the layout of
the SigmaHQ regression-data exports and of ``evtx_dump -o json``), documents already
shaped by Winlogbeat (``{"winlog": {...}}``, as in Elastic's pipeline tests) and NXLog
``im_msvistalog`` JSON (flat ``EventID``/``SourceName``/``Channel`` plus the event data).
All end as one ``winlog``
dict with Winlogbeat's names and types: ``event_id``/``record_id`` as text, every
``event_data`` value as text under its original Windows name (``CommandLine``,
``TargetFilename``...; blanks in names become ``_`` as Winlogbeat writes them), unnamed
``<Data>`` elements as ``param1``, ``param2``...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from soc_core.errors import ParseError

# Records come from JSON decoding, so containers are plain dicts and lists; checking for
# ``dict`` rather than ``Mapping`` keeps the hot path free of ABC instance checks.

# Standard level names, as Windows renders them (Winlogbeat lower-cases them in
# ``log.level``); level 0 ("LogAlways") is shown as Information by Event Viewer.
LEVELS: Final = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}

# Standard opcode names from winmeta.xml; provider-specific opcodes need the
# publisher's manifest, which a log file does not carry, so those stay unnamed.
OPCODES: Final = {
    0: "Info", 1: "Start", 2: "Stop", 3: "DCStart", 4: "DCStop", 5: "Extension",
    6: "Reply", 7: "Resume", 8: "Suspend", 9: "Send", 240: "Receive",
}

# Standard keyword bits from winmeta.xml (the high byte); bit 63 marks a channel and
# has no name.
KEYWORD_BITS: Final = (
    (0x0010000000000000, "Audit Failure"),
    (0x0020000000000000, "Audit Success"),
    (0x0080000000000000, "Classic"),
    (0x0040000000000000, "Response Time"),
    (0x0008000000000000, "Correlation Hint"),
    (0x0004000000000000, "SQM"),
    (0x0002000000000000, "WDI Diag"),
    (0x0001000000000000, "WDI Context"),
)


def _attrs(node: Any) -> Mapping[str, Any]:
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict):
            return attrs
    return {}


def text_value(value: Any) -> Any:
    """A Windows value as Winlogbeat emits it: text (lists keep their items as text).

    Windows line endings become ``\\n`` and trailing ones are dropped, as Winlogbeat's
    ``RemoveWindowsLineEndings`` does.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        if "\r" in value:
            value = value.replace("\r\n", "\n")
        return value.rstrip("\n") if value.endswith("\n") else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [text_value(v) for v in value]
    if isinstance(value, dict):
        if "#text" in value:
            return text_value(value["#text"])
        return {k: text_value(v) for k, v in value.items() if k != "#attributes"}
    return str(value)


def _keywords(raw: Any) -> list[str]:
    if not isinstance(raw, str):
        return []
    try:
        mask = int(raw, 16)
    except ValueError:
        return [raw]
    return [name for bit, name in KEYWORD_BITS if mask & bit]


def _event_data(node: Any) -> dict[str, Any]:
    """``EventData`` children by name; unnamed ``Data`` items become ``paramN``."""
    out: dict[str, Any] = {}
    if not isinstance(node, dict):
        if node not in (None, ""):
            out["param1"] = text_value(node)
        return out
    for key, value in node.items():
        if key == "#attributes":
            continue
        if key == "Data":
            # Unnamed <Data> elements: the evtx package renders them as one value or
            # a list under "#text"; Winlogbeat numbers them from 1.
            items = value.get("#text") if isinstance(value, dict) else value
            if not isinstance(items, list):
                items = [items]
            for i, item in enumerate(items, 1):
                out[f"param{i}"] = text_value(item)
        else:
            # Winlogbeat writes names with blanks ("Threat Name", Defender) with "_".
            out[key.replace(" ", "_") if " " in key else key] = text_value(value)
    return out


def _user_data(node: Any) -> dict[str, Any] | None:
    """``UserData`` holds one provider element; Winlogbeat keeps its children and the
    element's name as ``xml_name``."""
    if not isinstance(node, dict):
        return None
    for name, child in node.items():
        if name == "#attributes":
            continue
        data: dict[str, Any] = {"xml_name": name}
        if isinstance(child, dict):
            for key, value in child.items():
                if key != "#attributes":
                    data[key] = text_value(value)
        elif child not in (None, ""):
            data["value"] = text_value(child)
        return data
    return None


def winlog_from_evtx(record: Mapping[str, Any]) -> dict[str, Any]:
    """The Winlogbeat ``winlog`` object of one evtx-JSON record (``{"Event": ...}``)."""
    event = record.get("Event")
    if not isinstance(event, dict):
        raise ParseError("winlog", "record has no Event element")
    system = event.get("System")
    if not isinstance(system, dict):
        raise ParseError("winlog", "record has no System element")
    winlog: dict[str, Any] = {}
    event_id = system.get("EventID")
    if isinstance(event_id, dict):
        qualifiers = _attrs(event_id).get("Qualifiers")
        if qualifiers not in (None, ""):
            # Classic providers put the high word of the id in Qualifiers.
            winlog["event_id_qualifiers"] = str(qualifiers)
        event_id = event_id.get("#text")
    if event_id is None or isinstance(event_id, (dict, list)):
        raise ParseError("winlog", "record has no EventID")
    winlog["event_id"] = str(event_id)
    provider = _attrs(system.get("Provider"))
    if provider.get("Name"):
        winlog["provider_name"] = str(provider["Name"])
    if provider.get("Guid"):
        guid = str(provider["Guid"])
        winlog["provider_guid"] = guid if guid.startswith("{") else "{" + guid + "}"
    if provider.get("EventSourceName"):
        winlog["event_source_name"] = str(provider["EventSourceName"])
    for key, name in (("Channel", "channel"), ("Computer", "computer_name")):
        value = system.get(key)
        if isinstance(value, str) and value:
            winlog[name] = value
    record_id = system.get("EventRecordID")
    if record_id is not None and not isinstance(record_id, (dict, list)):
        winlog["record_id"] = str(record_id)
    created = _attrs(system.get("TimeCreated")).get("SystemTime")
    if isinstance(created, str) and created:
        winlog["time_created"] = created
    execution = _attrs(system.get("Execution"))
    if execution:
        process: dict[str, Any] = {}
        if isinstance(execution.get("ProcessID"), int):
            process["pid"] = execution["ProcessID"]
        if isinstance(execution.get("ThreadID"), int):
            process["thread"] = {"id": execution["ThreadID"]}
        if process:
            winlog["process"] = process
    user_id = _attrs(system.get("Security")).get("UserID")
    if user_id:
        winlog["user"] = {"identifier": str(user_id)}
    correlation = _attrs(system.get("Correlation"))
    if correlation.get("ActivityID"):
        winlog["activity_id"] = str(correlation["ActivityID"])
    if correlation.get("RelatedActivityID"):
        winlog["related_activity_id"] = str(correlation["RelatedActivityID"])
    for key, name in (("Version", "version"), ("Task", "task_id")):
        value = system.get(key)
        if isinstance(value, int):
            winlog[name] = value
    level = system.get("Level")
    if isinstance(level, int) and level in LEVELS:
        winlog["level"] = LEVELS[level]
    opcode = system.get("Opcode")
    if isinstance(opcode, int) and opcode in OPCODES:
        winlog["opcode"] = OPCODES[opcode]
    keywords = _keywords(system.get("Keywords"))
    if keywords:
        winlog["keywords"] = keywords
    if "Audit Success" in keywords:
        winlog["outcome"] = "success"
    elif "Audit Failure" in keywords:
        winlog["outcome"] = "failure"
    event_data = _event_data(event.get("EventData"))
    if event_data:
        winlog["event_data"] = event_data
    user_data = _user_data(event.get("UserData"))
    if user_data:
        winlog["user_data"] = user_data
    return winlog


def winlog_from_winlogbeat(winlog: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a Winlogbeat ``winlog`` object (ids as text, event_data as text)."""
    out = dict(winlog)
    for key in ("event_id", "record_id"):
        value = out.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float, str)):
            out[key] = str(value)
    if "event_id" not in out:
        raise ParseError("winlog", "winlog object has no event_id")
    data = out.get("event_data")
    if isinstance(data, dict):
        out["event_data"] = {k: text_value(v) for k, v in data.items()}
    return out


# NXLog's im_msvistalog fields (its "Windows Event Log" module reference); every other
# top-level member of an NXLog JSON record is an EventData item under its own name.
NXLOG_CORE: Final = frozenset({
    "EventTime", "Hostname", "Keywords", "EventType", "SeverityValue", "Severity", "EventID", "SourceName",
    "ProviderGuid", "Version", "Task", "OpcodeValue", "RecordNumber", "ActivityID", "RelatedActivityID",
    "ProcessID", "ThreadID", "Channel", "Message", "Category", "Opcode", "Domain", "AccountName", "UserID",
    "AccountType", "EventReceivedTime", "SourceModuleName", "SourceModuleType", "Qualifiers",
    "ERROR_EVT_UNRESOLVED",
})
# NXLog's SeverityValue: 1 DEBUG ... 5 CRITICAL; Windows levels in Winlogbeat's words.
NXLOG_LEVELS: Final = {1: "verbose", 2: "information", 3: "warning", 4: "error", 5: "critical"}


def is_nxlog(record: Mapping[str, Any]) -> bool:
    """An NXLog im_msvistalog JSON record (flat, with SourceName and EventID)."""
    return "EventID" in record and "SourceName" in record and "Event" not in record


def winlog_from_nxlog(record: Mapping[str, Any]) -> dict[str, Any]:
    """The Winlogbeat ``winlog`` object of an NXLog JSON record.

    ``time_created`` keeps NXLog's text (often local time without a zone); the caller
    resolves it in the configured timezone.
    """
    event_id = record.get("EventID")
    if isinstance(event_id, bool) or not isinstance(event_id, (int, str)) or not str(event_id).isdecimal():
        raise ParseError("winlog", "NXLog record without a numeric EventID")
    winlog: dict[str, Any] = {"event_id": str(event_id)}
    for key, name in (("SourceName", "provider_name"), ("ProviderGuid", "provider_guid"),
                      ("Channel", "channel"), ("Hostname", "computer_name"), ("EventTime", "time_created"),
                      ("ActivityID", "activity_id"), ("RelatedActivityID", "related_activity_id"),
                      ("Opcode", "opcode"), ("Category", "task")):
        value = record.get(key)
        if isinstance(value, str) and value:
            winlog[name] = value
    record_id = record.get("RecordNumber")
    if isinstance(record_id, (int, str)) and not isinstance(record_id, bool):
        winlog["record_id"] = str(record_id)
    process: dict[str, Any] = {}
    if isinstance(record.get("ProcessID"), int):
        process["pid"] = record["ProcessID"]
    if isinstance(record.get("ThreadID"), int):
        process["thread"] = {"id": record["ThreadID"]}
    if process:
        winlog["process"] = process
    if isinstance(record.get("UserID"), str) and record["UserID"]:
        winlog["user"] = {"identifier": record["UserID"]}
    level = record.get("SeverityValue")
    if isinstance(level, int) and level in NXLOG_LEVELS:
        winlog["level"] = NXLOG_LEVELS[level]
    if isinstance(record.get("Version"), int):
        winlog["version"] = record["Version"]
    event_type = str(record.get("EventType", "")).upper()
    if event_type in ("AUDIT_SUCCESS", "AUDIT_FAILURE"):
        success = event_type == "AUDIT_SUCCESS"
        winlog["keywords"] = ["Audit Success" if success else "Audit Failure"]
        winlog["outcome"] = "success" if success else "failure"
    data = {k: text_value(v) for k, v in record.items() if k not in NXLOG_CORE}
    if data:
        winlog["event_data"] = data
    return winlog
