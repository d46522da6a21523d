"""The one declarative table between Sigma field names and our event fields.

Windows events (Winlogbeat shape) are seen by Sigma rules as the flat columns Windows
itself names: the ``System`` fields below plus every ``winlog.event_data`` (then
``winlog.user_data``) key, exactly as Zircolite and the pySigma Windows pipelines see
them. :func:`sigma_columns` builds that view; the matcher, the SQLite oracle and the
retro-hunt flattening all use it, so the three cannot drift apart. Column names are
compared case-insensitively, as SQLite does.

Other products are ECS events: each Sigma taxonomy name maps to one ECS path per
logsource family (web server, proxy, firewall, DNS, Linux process creation...). A name
the table does not know is looked up as a literal ECS path, so rules written with ECS
names also work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from soc_core.event import flatten

# Sigma names of the Windows ``System`` element -> the Winlogbeat path holding them.
WINDOWS_SYSTEM_FIELDS: Final[Mapping[str, str]] = {
    "EventID": "winlog.event_id",
    "Channel": "winlog.channel",
    "Provider_Name": "winlog.provider_name",
    "Computer": "winlog.computer_name",
    "EventRecordID": "winlog.record_id",
    "Level": "winlog.level",
    "Task": "winlog.task_id",
    "Version": "winlog.version",
    "ProviderGuid": "winlog.provider_guid",
    "Keywords": "winlog.keywords",
}

# Windows Security 4688/4657 use other names for what Sysmon calls Image etc., applied
# when a rule written for a generic category is routed to those Security events (see
# ``logsource.py``, which adds pySigma's own registry mappings for 4657).
WINDOWS_AUDIT_PROCESS_FIELDS: Final[Mapping[str, str]] = {
    "Image": "NewProcessName",
    "ParentImage": "ParentProcessName",
    "Details": "NewValue",
    "LogonId": "SubjectLogonId",
}

# Sigma taxonomy names -> ECS paths, per logsource family (the key names the family; the
# logsource table in ``logsource.py`` says which rules and events belong to it).
ECS_FIELDS: Final[Mapping[str, Mapping[str, str]]] = {
    "webserver": {
        "c-uri": "url.original",
        "c-uri-query": "url.query",
        "c-uri-stem": "url.path",
        "c-uri-extension": "url.extension",
        "cs-uri-query": "url.query",
        "cs-uri-stem": "url.path",
        "cs-method": "http.request.method",
        "cs-version": "http.version",
        "cs-bytes": "http.request.bytes",
        "sc-bytes": "http.response.bytes",
        "sc-status": "http.response.status_code",
        "cs-referrer": "http.request.referrer",
        "cs-referer": "http.request.referrer",
        "cs-user-agent": "user_agent.original",
        "c-useragent": "user_agent.original",
        "cs-host": "url.domain",
        "c-ip": "source.ip",
        "s-ip": "destination.ip",
        "cs-username": "user.name",
        "cs-cookie": "http.request.cookie",
        "r-dns": "url.domain",
    },
    "proxy": {
        "c-uri": "url.original",
        "c-uri-query": "url.query",
        "c-uri-stem": "url.path",
        "c-uri-extension": "url.extension",
        "cs-method": "http.request.method",
        "sc-status": "http.response.status_code",
        "c-useragent": "user_agent.original",
        "cs-host": "url.domain",
        "cs-referrer": "http.request.referrer",
        "r-dns": "url.domain",
        "c-ip": "source.ip",
        "dst_ip": "destination.ip",
        "cs-bytes": "http.request.bytes",
        "sc-bytes": "http.response.bytes",
        "cs-cookie": "http.request.cookie",
    },
    "network": {
        "src_ip": "source.ip",
        "dst_ip": "destination.ip",
        "src_port": "source.port",
        "dst_port": "destination.port",
        "SourceIp": "source.ip",
        "DestinationIp": "destination.ip",
        "SourcePort": "source.port",
        "DestinationPort": "destination.port",
        "DestinationHostname": "destination.domain",
        "action": "event.action",
        "protocol": "network.transport",
        "query": "dns.question.name",
        "answer": "dns.answers.data",
        "record_type": "dns.question.type",
        "User": "user.name",
    },
    "antivirus": {
        # Endpoint parsers put the detection (signature) name in rule.name, as ECS does.
        "Signature": "rule.name",
        "Filename": "file.path",
        "FileName": "file.path",
        "User": "user.name",
        "ComputerName": "host.name",
        "Action": "event.action",
    },
    "host": {
        "Image": "process.executable",
        "CommandLine": "process.command_line",
        "ParentImage": "process.parent.executable",
        "ParentCommandLine": "process.parent.command_line",
        "CurrentDirectory": "process.working_directory",
        "ProcessId": "process.pid",
        "User": "user.name",
        "LogonId": "user.id",
        "TargetFilename": "file.path",
        "DestinationHostname": "destination.domain",
        "DestinationIp": "destination.ip",
        "DestinationPort": "destination.port",
        "SourceIp": "source.ip",
        "SourcePort": "source.port",
        "pam_message": "event.outcome",
        "pam_user": "user.name",
        "pam_rhost": "source.address",
        "exe": "process.executable",
        "comm": "process.name",
        "uid": "user.id",
        "type": "auditd.log.record_type",
    },
}

# Fields every ECS family can name with Sigma's generic words.
ECS_COMMON: Final[Mapping[str, str]] = {
    "message": "message",
    "hostname": "host.name",
    "host": "host.name",
}

KEYWORD_FIELD: Final = "\x00keywords"

# The System fields that live directly under ``winlog`` (all of them do today).
_SYSTEM_KEYS: Final = tuple(
    (name, path.split(".", 1)[1]) for name, path in WINDOWS_SYSTEM_FIELDS.items()
    if path.startswith("winlog.") and path.count(".") == 1
)
_SYSTEM_KEYS_LOWER: Final = tuple((name.lower(), key) for name, key in _SYSTEM_KEYS)


# Unnamed <Data> elements: the parser keeps them as Winlogbeat does (``param1``,
# ``param2``... in ``winlog.event_data``); Sigma rules for classic events (MSSQL,
# MSI installer, PowerShell classic, ...) read them as one ``Data`` field, whose values
# are all those items (a list: a rule matches when any item does).
DATA_COLUMN: Final = "Data"


def unnamed_data(event_data: Mapping[str, Any]) -> list[Any] | None:
    """The values of ``param1``, ``param2``... in order, or ``None`` when there is none."""
    if "param1" not in event_data:
        return None
    values = []
    i = 1
    while (key := f"param{i}") in event_data:
        values.append(event_data[key])
        i += 1
    return values


def sigma_columns(event: Mapping[str, Any]) -> dict[str, Any]:
    """A Windows event as Sigma-named flat columns (original case), or ``{}`` otherwise.

    ``event_data`` wins over ``user_data`` and both over nothing; the ``System`` fields
    win over a data item of the same name, as in the pySigma pipelines' view.
    """
    winlog = event.get("winlog")
    if not isinstance(winlog, dict):
        return {}
    out: dict[str, Any] = {}
    user_data = winlog.get("user_data")
    if isinstance(user_data, dict):
        out.update((k, v) for k, v in user_data.items() if not isinstance(v, dict))
    event_data = winlog.get("event_data")
    if isinstance(event_data, dict):
        out.update((k, v) for k, v in event_data.items() if not isinstance(v, dict))
        if DATA_COLUMN not in out and (data := unnamed_data(event_data)) is not None:
            out[DATA_COLUMN] = data
    for key in [k for k in out if " " in k or "_" in k]:
        # Defender and a few others name data items with spaces ("Threat Name", which
        # Winlogbeat writes "Threat_Name"); Sigma rules use the name without them.
        out.setdefault(key.replace(" ", "").replace("_", ""), out[key])
    # This runs once per Windows event on the hot path: read winlog.* directly.
    for name, key in _SYSTEM_KEYS:
        value = winlog.get(key)
        if value is not None:
            out[name] = value
    return out


def windows_view(event: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`sigma_columns` keyed by lower-cased name (Sigma names are case-insensitive).

    Built in one pass (this runs once per Windows event on the hot path); it must stay
    equal to lower-casing :func:`sigma_columns`, which a test checks on the corpus.
    """
    winlog = event.get("winlog")
    if not isinstance(winlog, dict):
        return {}
    out: dict[str, Any] = {}
    aliased = False
    for part in ("user_data", "event_data"):
        data = winlog.get(part)
        if isinstance(data, dict):
            for k, v in data.items():
                if not isinstance(v, dict):
                    low = k.lower()
                    out[low] = v
                    aliased = aliased or " " in low or "_" in low
            if part == "event_data" and "param1" in data and "data" not in out:
                out["data"] = unnamed_data(data)
    if aliased:
        for key in [k for k in out if " " in k or "_" in k]:
            out.setdefault(key.replace(" ", "").replace("_", ""), out[key])
    for name, key in _SYSTEM_KEYS_LOWER:
        value = winlog.get(key)
        if value is not None:
            out[name] = value
    return out


def ecs_path(family: str | None, sigma_field: str) -> str:
    """The ECS path a Sigma field name stands for in one logsource family."""
    table = ECS_FIELDS.get(family or "", {})
    return table.get(sigma_field) or ECS_COMMON.get(sigma_field) or sigma_field


def flat_columns(event: Mapping[str, Any], family: str | None = None) -> dict[str, Any]:
    """Any event as Sigma-named flat columns (for SQL retro-hunts over stored events).

    Windows events: :func:`sigma_columns`. Others: every dotted ECS path, plus the Sigma
    names of ``family`` (``webserver``, ``proxy``, ``network``, ``host``; all families
    when ``None``) for the paths present.
    """
    if isinstance(event.get("winlog"), dict):
        return sigma_columns(event)
    out: dict[str, Any] = dict(flatten(event))
    tables = [ECS_FIELDS[family]] if family is not None and family in ECS_FIELDS else list(ECS_FIELDS.values())
    for table in [*tables, ECS_COMMON]:
        for name, path in table.items():
            value = out.get(path)
            if value is not None:
                out.setdefault(name, value)
    return out


def windows_column(sigma_field: str, renames: Mapping[str, str]) -> str:
    """The (lower-cased) Windows column a Sigma field reads, after a route's renames."""
    return renames.get(sigma_field, sigma_field).lower()
