"""Sysmon (Microsoft-Windows-Sysmon/Operational) to ECS, after Elastic's
``windows.sysmon_operational`` pipeline: processes, files, registry, network and DNS.

Unlike that pipeline, the original ``winlog.event_data`` members are kept (Elastic
moves some of them into ECS): Sigma rules are written against those names.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from parsers.windows.fields import (
    add_categories,
    command_line_to_argv,
    ip_text,
    related,
    to_int,
)
from soc_core.event import Event, format_timestamp, set_field

# event id -> (event.action, category, type), as the Elastic pipeline sets them.
EVENTS: Final[dict[str, tuple[str, list[str], list[str]]]] = {
    "1": ("Process creation", ["process"], ["start"]),
    "2": ("A process changed a file creation time", ["file"], ["change"]),
    "3": ("Network connection", ["network"], ["start", "connection", "protocol"]),
    "4": ("Sysmon service state changed", ["process"], ["change"]),
    "5": ("Process terminated", ["process"], ["end"]),
    "6": ("Driver loaded", ["driver"], ["start"]),
    "7": ("Image loaded", ["process"], ["change"]),
    "8": ("CreateRemoteThread", ["process"], ["change"]),
    "9": ("RawAccessRead", ["process"], ["access"]),
    "10": ("ProcessAccess", ["process"], ["access"]),
    "11": ("FileCreate", ["file"], ["creation"]),
    "12": ("RegistryEvent (Object create and delete)", ["configuration", "registry"], ["change"]),
    "13": ("RegistryEvent (Value Set)", ["configuration", "registry"], ["change"]),
    "14": ("RegistryEvent (Key and Value Rename)", ["configuration", "registry"], ["change"]),
    "15": ("FileCreateStreamHash", ["file"], ["access"]),
    "16": ("ServiceConfigurationChange", ["configuration"], ["change"]),
    "17": ("PipeEvent (Pipe Created)", ["file"], ["creation"]),
    "18": ("PipeEvent (Pipe Connected)", ["file"], ["access"]),
    "19": ("WmiEvent (WmiEventFilter activity detected)", ["process"], ["info"]),
    "20": ("WmiEvent (WmiEventConsumer activity detected)", ["process"], ["change"]),
    "21": ("WmiEvent (WmiEventConsumerToFilter activity detected)", ["process"], ["access"]),
    "22": ("DNSEvent (DNS query)", ["network"], ["connection", "protocol", "info"]),
    "23": ("FileDelete (File Delete archived)", ["file"], ["deletion"]),
    "24": ("ClipboardChange (New content in the clipboard)", [], ["change"]),
    "25": ("ProcessTampering (Process image change)", ["process"], ["change"]),
    "26": ("FileDeleteDetected (File Delete logged)", ["file"], ["deletion"]),
    "27": ("FileBlockExecutable", ["file"], ["creation"]),
    "28": ("FileBlockShredding", ["file"], ["deletion"]),
    "29": ("FileExecutableDetected", ["file"], ["creation"]),
    "255": ("Error", ["process"], []),
}
_PROCESS_HASH_EVENTS: Final = frozenset({"1", "23", "24", "25", "26"})
_FILE_HASH_EVENTS: Final = frozenset({"6", "7", "15", "26", "29"})
# Values Elastic treats as absent in Sysmon event data.
_EMPTY: Final = frozenset({"", "-", "{00000000-0000-0000-0000-000000000000}"})
_HIVES: Final = {
    "HKEY_CLASSES_ROOT": "HKCR", "HKCR": "HKCR", "HKEY_CURRENT_CONFIG": "HKCC", "HKCC": "HKCC",
    "HKEY_CURRENT_USER": "HKCU", "HKCU": "HKCU", "HKEY_DYN_DATA": "HKDD", "HKDD": "HKDD",
    "HKEY_LOCAL_MACHINE": "HKLM", "HKLM": "HKLM", "HKEY_PERFORMANCE_DATA": "HKPD", "HKPD": "HKPD",
    "HKEY_USERS": "HKU", "HKU": "HKU",
}
_QWORD: Final = re.compile(r"(?i)QWORD \((0x[0-9A-F]{8})-(0x[0-9A-F]{8})\)")
_DWORD: Final = re.compile(r"(?i)DWORD \((0x[0-9A-F]{8})\)")
DNS_TYPES: Final = {
    "1": "A", "2": "NS", "5": "CNAME", "6": "SOA", "12": "PTR", "15": "MX", "16": "TXT", "28": "AAAA",
    "33": "SRV", "35": "NAPTR", "39": "DNAME", "65": "HTTPS", "255": "ANY",
}
_V4_MAPPED: Final = re.compile(r"^\[?::ffff:(\d+\.\d+\.\d+\.\d+)(?:\](?::\d+)?)?$")


def _value(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if not isinstance(value, str) or value in _EMPTY:
        return None
    return value


def put_hashes(event: Event, prefix: str, hashes: Any) -> None:
    """``SHA1=..,MD5=..`` into ``<prefix>.hash.*`` (imphash into ``<prefix>.pe``) and
    related.hash, lower-cased, all-zero hashes dropped."""
    if not isinstance(hashes, str) or not hashes:
        return
    for part in hashes.split(","):
        name, sep, value = part.partition("=")
        value = value.strip().lower()
        if not sep or not value or not value.strip("0"):
            continue
        algo = name.strip().lower()
        set_field(event, f"{prefix}.pe.imphash" if algo == "imphash" else f"{prefix}.hash.{algo}", value)
        related(event, "hash", value)


def put_domain_user(event: Event, prefix: str, value: Any) -> None:
    """``DOMAIN\\name`` into ``<prefix>.domain``/``.name`` and related.user."""
    if not isinstance(value, str):
        return
    parts = value.split("\\")
    if len(parts) != 2 or not parts[1]:
        return
    if parts[0]:
        set_field(event, f"{prefix}.domain", parts[0])
    set_field(event, f"{prefix}.name", parts[1])
    related(event, "user", parts[1])


def put_file(event: Event, path_value: Any, prefix: str = "file") -> None:
    """``<prefix>.path`` plus ``name``/``directory``/``extension`` split at the last
    backslash, as Elastic's "Adds file information" step does."""
    if not isinstance(path_value, str) or path_value in _EMPTY:
        return
    set_field(event, f"{prefix}.path", path_value)
    idx = path_value.rfind("\\")
    if idx > -1 and len(path_value) > 1:
        set_field(event, f"{prefix}.name", path_value[idx + 1 :])
        set_field(event, f"{prefix}.directory", path_value[:idx])
        ext = path_value.rfind(".")
        if ext > -1:
            set_field(event, f"{prefix}.extension", path_value[ext + 1 :])


def _process_name(path: str) -> str | None:
    idx = path.rfind("\\")
    return path[idx + 1 :] or None if idx > -1 else None


def _processes(event: Event, code: str, data: dict[str, Any]) -> None:
    process: dict[str, Any] = {}
    for key in ("ProcessGuid", "SourceProcessGuid", "SourceProcessGUID"):
        if _value(data, key):
            process["entity_id"] = data[key]
    for key in ("ProcessId", "SourceProcessId"):
        pid = to_int(_value(data, key))
        if pid is not None:
            process["pid"] = pid
    thread = to_int(_value(data, "SourceThreadId"))
    if thread is not None:
        process["thread"] = {"id": thread}
    for key in ("Image", "SourceImage", "Destination"):
        if _value(data, key):
            process["executable"] = data[key]
    if _value(data, "CommandLine"):
        process["command_line"] = data["CommandLine"]
    if _value(data, "CurrentDirectory"):
        process["working_directory"] = data["CurrentDirectory"]
    parent: dict[str, Any] = {}
    if _value(data, "ParentProcessGuid"):
        parent["entity_id"] = data["ParentProcessGuid"]
    ppid = to_int(_value(data, "ParentProcessId"))
    if ppid is not None:
        parent["pid"] = ppid
    if _value(data, "ParentImage"):
        parent["executable"] = data["ParentImage"]
    if _value(data, "ParentCommandLine"):
        parent["command_line"] = data["ParentCommandLine"]
    if code != "7":
        pe = {dst: data[src] for src, dst in (
            ("OriginalFileName", "original_file_name"), ("Company", "company"), ("Description", "description"),
            ("FileVersion", "file_version"), ("Product", "product")) if _value(data, src)}
        if pe:
            process["pe"] = pe
    for node in (process, parent):
        if node.get("command_line"):
            node["args"] = command_line_to_argv(node["command_line"])
            node["args_count"] = len(node["args"])
        if isinstance(node.get("executable"), str) and len(node["executable"]) > 1:
            name = _process_name(node["executable"])
            if name:
                node["name"] = name
    if parent:
        process["parent"] = parent
    if process:
        event.setdefault("process", {}).update(process)


def _files(event: Event, code: str, data: dict[str, Any]) -> None:
    for key in ("TargetFilename", "Device", "ImageLoaded"):
        if _value(data, key):
            put_file(event, data[key])
    if _value(data, "PipeName"):
        set_field(event, "file.name", data["PipeName"])
    if _value(data, "Signature"):
        set_field(event, "file.code_signature.subject_name", data["Signature"])
    if _value(data, "SignatureStatus"):
        set_field(event, "file.code_signature.status", data["SignatureStatus"])
        if data["SignatureStatus"] == "Valid":
            set_field(event, "file.code_signature.valid", True)
    if data.get("Signed") == "true":
        set_field(event, "file.code_signature.signed", True)
    if code == "7":
        pe = {dst: data[src] for src, dst in (
            ("OriginalFileName", "original_file_name"), ("Company", "company"), ("Description", "description"),
            ("FileVersion", "file_version"), ("Product", "product")) if _value(data, src)}
        if pe:
            set_field(event, "file.pe", pe)


def _network(event: Event, code: str, data: dict[str, Any]) -> None:
    if _value(data, "Protocol"):
        set_field(event, "network.transport", data["Protocol"])
    if code == "22":
        set_field(event, "network.protocol", "dns")
    else:
        for key in ("DestinationPortName", "SourcePortName"):
            if _value(data, key):
                set_field(event, "network.protocol", data[key])
    for side, prefix in (("source", "Source"), ("destination", "Destination")):
        ip = ip_text(_value(data, f"{prefix}Ip"))
        if ip:
            set_field(event, f"{side}.ip", ip)
        if _value(data, f"{prefix}Hostname"):
            set_field(event, f"{side}.domain", data[f"{prefix}Hostname"])
        port = to_int(_value(data, f"{prefix}Port"))
        if port is not None:
            set_field(event, f"{side}.port", port)
    initiated = data.get("Initiated")
    if initiated in ("true", "false"):
        set_field(event, "network.direction", "egress" if initiated == "true" else "ingress")
    ipv6 = data.get("SourceIsIpv6")
    if ipv6 in ("true", "false"):
        set_field(event, "network.type", "ipv6" if ipv6 == "true" else "ipv4")


def _dns(event: Event, data: dict[str, Any]) -> None:
    name = _value(data, "QueryName")
    if name:
        set_field(event, "dns.question.name", name)
    results = _value(data, "QueryResults")
    answers: list[dict[str, Any]] = []
    ips: list[str] = []
    hosts: list[str] = []
    for item in (results or "").split(";"):
        if not item:
            continue
        if item.startswith("type:"):
            parts = item.split()
            if len(parts) >= 3:
                answers.append({"type": DNS_TYPES.get(parts[1], parts[1]), "data": parts[2]})
                hosts.append(parts[2])
            elif len(parts) == 2:
                answers.append({"type": DNS_TYPES.get(parts[1], parts[1])})
            continue
        mapped = _V4_MAPPED.match(item)
        ip = ip_text(mapped.group(1) if mapped else item)
        if ip:
            ips.append(ip)
    for ip in ips:
        answers.append({"type": "AAAA" if ":" in ip else "A", "data": ip})
    if answers:
        set_field(event, "dns.answers", answers)
    if ips:
        set_field(event, "dns.resolved_ip", ips)
    related(event, "hosts", *hosts)
    if name:
        related(event, "hosts", name)
    related(event, "ip", *ips)


def _registry(event: Event, data: dict[str, Any]) -> None:
    path = _value(data, "TargetObject")
    if path is None:
        return
    registry: dict[str, Any] = {"path": path}
    tokens = path.split("\\")
    hive = _HIVES.get(tokens[0])
    if hive:
        registry["hive"] = hive
        if len(tokens) > 1:
            registry["key"] = "\\".join(tokens[1:])
    registry["value"] = tokens[-1]
    details = _value(data, "Details")
    if details:
        qword, dword = _QWORD.fullmatch(details), _DWORD.fullmatch(details)
        if qword:
            value = (int(qword.group(1), 16) << 8) + int(qword.group(2), 16)  # as Elastic computes it
            registry["data"] = {"strings": [str(value)], "type": "SZ_QWORD"}
        elif dword:
            registry["data"] = {"strings": [str(int(dword.group(1), 16))], "type": "SZ_DWORD"}
        elif details == "Binary Data":
            registry["data"] = {"strings": [details], "type": "REG_BINARY"}
        else:
            registry["data"] = {"strings": [details], "type": "REG_SZ"}
    event["registry"] = registry


def map_sysmon(winlog: dict[str, Any], event: Event) -> None:
    """Fill ECS fields of a Sysmon event from ``winlog``."""
    code = str(winlog.get("event_id", ""))
    data: dict[str, Any] = winlog.get("event_data") or {}
    entry = EVENTS.get(code)
    if entry:
        event["event"]["action"] = entry[0]
        if entry[1]:
            add_categories(event, entry[1], entry[2])
        else:
            event["event"]["type"] = list(entry[2])
        if code in ("27", "255"):
            event["event"]["outcome"] = "failure"
    created = event.get("@timestamp")
    utc = _value(data, "UtcTime")
    if utc:
        try:
            when = datetime.fromisoformat(utc).replace(tzinfo=UTC)  # "2019-05-16 13:10:13.759"
        except ValueError:
            when = None
        if when is not None:
            # Sysmon's own clock: @timestamp; the log record's time: event.created.
            event["event"]["created"] = created
            event["@timestamp"] = format_timestamp(when)
    if code == "255" and _value(data, "ID"):
        set_field(event, "error.code", data["ID"])
    if _value(data, "RuleName"):
        set_field(event, "rule.name", data["RuleName"])
    if code == "25" and _value(data, "Type"):
        event["message"] = data["Type"]
    _processes(event, code, data)
    _files(event, code, data)
    # After the process/file fields, which would replace the ``pe`` objects.
    hashes = _value(data, "Hashes") or _value(data, "Hash")
    if code in _PROCESS_HASH_EVENTS:
        put_hashes(event, "process", hashes)
    elif code in _FILE_HASH_EVENTS:
        put_hashes(event, "file", hashes)
    elif hashes:
        related(event, "hash", *[p.partition("=")[2].lower() for p in hashes.split(",") if p.partition("=")[2]])
    _network(event, code, data)
    if code == "22":
        _dns(event, data)
    user = winlog.get("user")
    if isinstance(user, dict) and user.get("identifier"):
        set_field(event, "user.id", user["identifier"])
    put_domain_user(event, "user", data.get("User"))
    for side in ("source", "destination"):
        ip = (event.get(side) or {}).get("ip")
        if ip:
            related(event, "ip", ip)
    if code in ("12", "13", "14"):
        _registry(event, data)
    logon = _value(data, "LogonId")
    if logon:
        winlog.setdefault("logon", {})["id"] = logon
