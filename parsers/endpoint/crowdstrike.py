"""CrowdStrike Falcon streaming-API events to ECS (``crowdstrike.falcon``).

Input: the Falcon SIEM connector's output, one JSON document ``{"metadata": {...},
"event": {...}}`` per event, pretty-printed over several lines (framed at each line
starting with ``{``, like Filebeat's multiline setting for this module). Mapping
after Filebeat's ``crowdstrike/falcon`` ingest pipeline: detections and incidents
are alerts in ``crowdstrike.falcon_endpoint``; audit, authentication and Real Time
Response sessions are ``crowdstrike.falcon_audit`` events; firewall matches are
network events. The vendor document stays under ``crowdstrike``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from parsers.base import BaseParser, MultilineFramer
from parsers.endpoint.common import load_object, put_number, put_text, put_time, put_value, related
from parsers.windows.fields import basename, split_command_line
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, set_field

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ZERO_HASH = re.compile(r"^0+$")


def snake_case(name: str) -> str:
    """``RemoteResponseSessionStartEvent`` -> ``remote_response_session_start_event``."""
    return _CAMEL.sub("_", name).lower()


def _user(event: Event, name: Any) -> None:
    if not isinstance(name, str) or not name:
        return
    set_field(event, "user.name", name)
    if "@" in name:
        set_field(event, "user.email", name)
    related(event, "user", name)


def _source_ip(event: Event, value: Any) -> None:
    # The API writes "N/A" or "" when it has no address.
    if isinstance(value, str) and value and value != "N/A":
        set_field(event, "source.ip", value)
        related(event, "ip", value)


def _host(event: Event, name: Any) -> None:
    if isinstance(name, str) and name:
        set_field(event, "host.name", name)
        related(event, "hosts", name)


class CrowdstrikeFalconParser(BaseParser):
    """One Falcon streaming-API document to an ECS event or alert."""

    id = "crowdstrike.falcon"
    framer = MultilineFramer(r"^\{")
    json_keys: ClassVar[tuple[str, ...]] = ("metadata.eventType", "event")
    route_signals: ClassVar[tuple[str, ...]] = ('"customerIDString"',)

    def accepts(self, raw: RawEvent) -> bool:
        return b'"eventType"' in raw.data and b'"metadata"' in raw.data

    def parse(self, raw: RawEvent) -> Event:
        doc = load_object(self.id, raw)
        metadata, body = doc.get("metadata"), doc.get("event")
        if not isinstance(metadata, dict) or not isinstance(body, dict):
            raise ParseError(self.id, "expected {metadata: {...}, event: {...}}")
        event_type = metadata.get("eventType")
        if not isinstance(event_type, str) or not event_type:
            raise ParseError(self.id, "metadata.eventType missing")
        event = self.new_event(raw)
        event["tags"] = ["forwarded"]
        ev = event["event"]
        ev["outcome"] = "unknown"
        put_time(event, "@timestamp", metadata.get("eventCreationTime"))
        handler = {
            "DetectionSummaryEvent": self._detection,
            "IncidentSummaryEvent": self._incident,
            "UserActivityAuditEvent": self._user_activity,
            "AuthActivityAuditEvent": self._auth_activity,
            "RemoteResponseSessionStartEvent": self._remote_session,
            "RemoteResponseSessionEndEvent": self._remote_session,
            "FirewallMatchEvent": self._firewall,
        }.get(event_type)
        dataset = "crowdstrike.falcon_endpoint"
        if handler is not None:
            dataset = handler(event, body, event_type)
        else:
            ev["action"] = snake_case(event_type)
        ev["dataset"] = dataset
        ev["module"] = "crowdstrike"
        event["crowdstrike"] = {"metadata": metadata, "event": body}
        return event

    @staticmethod
    def _detection(event: Event, body: dict[str, Any], _: str) -> str:
        ev = event["event"]
        ev.update(kind="alert", category=["malware"], type=["info"])
        put_value(event, "event.action", body.get("PatternDispositionDescription"))
        if isinstance(body.get("Severity"), int) and not isinstance(body["Severity"], bool):
            ev["severity"] = body["Severity"]
        put_value(event, "event.url", body.get("FalconHostLink"))
        put_value(event, "message", body.get("DetectDescription"))
        put_value(event, "rule.name", body.get("DetectName"))
        put_value(event, "rule.description", body.get("DetectDescription"))
        for key, path in (("Tactic", "threat.tactic.name"), ("Technique", "threat.technique.name")):
            if isinstance(body.get(key), str) and body[key]:
                set_field(event, path, body[key].lower())
        _host(event, body.get("ComputerName"))
        _user(event, body.get("UserName"))
        put_value(event, "user.domain", body.get("MachineDomain"))
        _source_ip(event, body.get("LocalIP"))
        command_line = body.get("CommandLine")
        if isinstance(command_line, str) and command_line.strip():
            args = split_command_line(command_line)
            set_field(event, "process.command_line", command_line.strip())
            set_field(event, "process.args", args)
            set_field(event, "process.executable", args[0])
        put_text(event, "process.name", body.get("FileName"))
        put_number(event, "process.pid", body.get("ProcessId"))
        put_number(event, "process.parent.pid", body.get("ParentProcessId"))
        put_text(event, "process.parent.command_line", body.get("ParentCommandLine"))
        put_text(event, "process.parent.executable", body.get("ParentImageFileName"))
        if isinstance(body.get("ParentImageFileName"), str) and body["ParentImageFileName"]:
            set_field(event, "process.parent.name", basename(body["ParentImageFileName"]))
        put_time(event, "process.start", body.get("ProcessStartTime"))
        put_time(event, "process.end", body.get("ProcessEndTime"))
        for key, algo in (("MD5String", "md5"), ("SHA1String", "sha1"), ("SHA256String", "sha256")):
            value = body.get(key)
            if isinstance(value, str) and value:
                set_field(event, f"file.hash.{algo}", value)
                if not _ZERO_HASH.match(value):
                    related(event, "hash", value)
        put_text(event, "file.name", body.get("FileName"))
        if isinstance(body.get("FilePath"), str) and body["FilePath"] and isinstance(body.get("FileName"), str):
            set_field(event, "file.path", f"{body['FilePath']}\\{body['FileName']}")
        return "crowdstrike.falcon_endpoint"

    @staticmethod
    def _incident(event: Event, body: dict[str, Any], _: str) -> str:
        ev = event["event"]
        ev.update(kind="alert", category=["malware"], type=["info"], action="incident")
        put_value(event, "event.url", body.get("FalconHostLink"))
        if body.get("FineScore") is not None:
            event["message"] = f"Incident score {body['FineScore']}"
        put_time(event, "event.start", body.get("IncidentStartTime"))
        put_time(event, "event.end", body.get("IncidentEndTime"))
        return "crowdstrike.falcon_endpoint"

    @staticmethod
    def _user_activity(event: Event, body: dict[str, Any], event_type: str) -> str:
        ev = event["event"]
        ev.update(kind="event", category=["iam"], type=["change"], action=snake_case(event_type))
        put_value(event, "message", body.get("OperationName"))
        _user(event, body.get("UserId"))
        _source_ip(event, body.get("UserIp"))
        put_time(event, "@timestamp", body.get("UTCTimestamp"))
        return "crowdstrike.falcon_audit"

    @staticmethod
    def _auth_activity(event: Event, body: dict[str, Any], _: str) -> str:
        ev = event["event"]
        ev.update(kind="event", category=["authentication"], type=["change"])
        operation = body.get("OperationName")
        if isinstance(operation, str) and operation:
            ev["action"] = snake_case(operation)
        put_value(event, "message", body.get("ServiceName"))
        if isinstance(body.get("Success"), bool):
            ev["outcome"] = "success" if body["Success"] else "failure"
        _user(event, body.get("UserId"))
        _source_ip(event, body.get("UserIp"))
        put_time(event, "@timestamp", body.get("UTCTimestamp"))
        return "crowdstrike.falcon_audit"

    @staticmethod
    def _remote_session(event: Event, body: dict[str, Any], event_type: str) -> str:
        ev = event["event"]
        start = event_type.endswith("StartEvent")
        ev.update(kind="event", category=["network"], type=["session", "start" if start else "end"],
                  action=[snake_case(event_type)])
        event["message"] = f"Remote response session {'started' if start else 'ended'}."
        _host(event, body.get("HostnameField"))
        _user(event, body.get("UserName"))
        put_time(event, "event.start" if start else "event.end",
                 body.get("StartTimestamp" if start else "EndTimestamp"))
        return "crowdstrike.falcon_audit"

    @staticmethod
    def _firewall(event: Event, body: dict[str, Any], event_type: str) -> str:
        ev = event["event"]
        ev.update(kind="event", category=["network"], type=["connection", "start"],
                  action=[snake_case(event_type)])
        put_value(event, "event.code", body.get("EventType"))
        rule_name = body.get("RuleName")
        if isinstance(rule_name, str):
            event["message"] = f"Firewall Rule '{rule_name}' triggered"
        inbound = str(body.get("ConnectionDirection")) == "1"
        local, remote = ("destination", "source") if inbound else ("source", "destination")
        set_field(event, "network.direction", "ingress" if inbound else "egress")
        for side, prefix in ((local, "Local"), (remote, "Remote")):
            address = body.get(f"{prefix}Address")
            if isinstance(address, str) and address:
                set_field(event, f"{side}.ip", address)
                related(event, "ip", address)
            port = str(body.get(f"{prefix}Port", ""))
            if port.isdecimal():
                set_field(event, f"{side}.port", int(port))
        put_value(event, "network.type", body.get("Ipv"))
        pid = str(body.get("PID", ""))
        if pid.isdecimal():
            set_field(event, "process.pid", int(pid))
        _host(event, body.get("HostName"))
        rule = {"id": body.get("RuleId"), "name": rule_name, "ruleset": body.get("RuleGroupName"),
                "category": body.get("RuleFamilyID"), "description": body.get("RuleDescription")}
        event["rule"] = {k: v for k, v in rule.items() if v is not None}
        put_time(event, "@timestamp", body.get("Timestamp"))
        return "crowdstrike.falcon_endpoint"
