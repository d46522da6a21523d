"""PowerShell logs to ECS, after Elastic's ``windows.powershell`` and
``windows.powershell_operational`` pipelines.

The classic "Windows PowerShell" channel (400, 403, 600, 800) writes its details as
``Key=Value`` lines inside one unnamed ``<Data>`` element (``param3``; ``param2`` for
800); like Elastic, those keys are lifted into ``winlog.event_data`` (``HostApplication``,
``EngineVersion``...), the positional ``paramN`` values staying as they are for rules
that read them. The Operational channel (4103-4106) carries named fields
(``ScriptBlockText``, ``Payload``, ``ContextInfo`` with ``Key = Value`` lines).
"""

from __future__ import annotations

import re
from typing import Any, Final

from parsers.windows.fields import add_categories, command_line_to_argv, to_int
from parsers.windows.sysmon import put_domain_user, put_file
from soc_core.event import Event, set_field

# Winlogbeat's event.action (the rendered task names) per event id.
ACTIONS: Final = {
    "400": "Engine Lifecycle", "403": "Engine Lifecycle", "600": "Provider Lifecycle",
    "800": "Pipeline Execution Details", "4103": "Executing Pipeline", "4104": "Execute a Remote Command",
    "4105": "Starting Command", "4106": "Stopping Command",
}
_TYPES: Final = {"400": "start", "403": "end", "4105": "start", "4106": "end"}
# "CommandInvocation(Get-Item): "Get-Item"" / "ParameterBinding(Get-Item): name="Path"; value="x""
_DETAIL: Final = re.compile(r"^([^:(]+)\((.+)\):\s*(.+)?$")
_BINDING: Final = re.compile(r"^name=(.+);\s*value=(.+)$")
_RENAMES: Final = (
    ("NewEngineState", "powershell.engine.new_state"), ("PreviousEngineState", "powershell.engine.previous_state"),
    ("NewProviderState", "powershell.provider.new_state"), ("ProviderName", "powershell.provider.name"),
    ("EngineVersion", "powershell.engine.version"), ("PipelineId", "powershell.pipeline_id"),
    ("RunspaceId", "powershell.runspace_id"), ("HostVersion", "powershell.process.executable_version"),
    ("CommandLine", "powershell.command.value"), ("CommandPath", "powershell.command.path"),
    ("CommandName", "powershell.command.name"), ("CommandType", "powershell.command.type"),
    ("HostId", "process.entity_id"), ("HostName", "process.title"),
    ("ScriptBlockText", "powershell.file.script_block_text"), ("ScriptBlockId", "powershell.file.script_block_id"),
)


def parse_details(text: str) -> dict[str, str]:
    """``\\tKey=Value`` lines (classic log ``Data``, 4103 ``ContextInfo``) to a dict;
    blanks inside keys are dropped (``Host Application`` -> ``HostApplication``)."""
    out: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        key, sep, value = line.strip().partition("=")
        key = key.strip().replace(" ", "")
        if sep and key and key.isidentifier():
            out[key] = value.strip()
    return out


def _invocation_details(text: str) -> list[dict[str, str]]:
    """Event 800 ``param3``: one object per ``Type(command): value`` line."""
    details: list[dict[str, str]] = []
    for raw in text.split("\n"):
        if not raw.strip():
            continue
        m = _DETAIL.match(raw)
        if not m or m.group(3) is None:
            details.append({"value": raw})
            continue
        kind, command, value = m.group(1), m.group(2), m.group(3)
        binding = _BINDING.match(value) if kind == "ParameterBinding" else None
        if binding:
            details.append({"type": kind, "related_command": command, "name": binding.group(1),
                            "value": binding.group(2)})
        else:
            details.append({"type": kind, "related_command": command, "value": value})
    return details


def map_powershell(winlog: dict[str, Any], event: Event) -> None:
    """Fill ECS fields of a PowerShell event from ``winlog``."""
    code = str(winlog.get("event_id", ""))
    data: dict[str, Any] = winlog.setdefault("event_data", {})
    add_categories(event, ["process"], [_TYPES.get(code, "info")], ACTIONS.get(code))
    classic = code in ("400", "403", "600", "800")
    source = data.get("param2" if code == "800" else "param3") if classic else data.get("ContextInfo")
    if isinstance(source, str) and "=" in source:
        for key, item in parse_details(source).items():
            data.setdefault(key, item)
    sequence = to_int(data.get("SequenceNumber"))
    if sequence is not None:
        event["event"]["sequence"] = sequence
    host_app = data.get("HostApplication")
    if isinstance(host_app, str) and host_app:
        set_field(event, "process.command_line", host_app)
        args = command_line_to_argv(host_app)
        set_field(event, "process.args", args)
        set_field(event, "process.args_count", len(args))
    for key, target in _RENAMES:
        value = data.get(key)
        if isinstance(value, str) and value:
            set_field(event, target, value)
    for key, target in (("DetailTotal", "powershell.total"), ("DetailSequence", "powershell.sequence"),
                        ("MessageTotal", "powershell.total"), ("MessageNumber", "powershell.sequence")):
        number = to_int(data.get(key))
        if number is not None:
            set_field(event, target, number)
    if code == "800" and isinstance(data.get("param3"), str):
        details = _invocation_details(data["param3"])
        if details:
            set_field(event, "powershell.command.invocation_details", details)
    put_domain_user(event, "user", data.get("UserId") or data.get("User"))
    put_file(event, data.get("ScriptName") or data.get("Path"))
