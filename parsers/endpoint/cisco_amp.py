"""Cisco AMP for Endpoints (Secure Endpoint) events API to ECS (``cisco.amp``).

Input: one JSON document per line as the ``/v1/events`` API pages them
(``{"version", "metadata", "data": {...}}``; a bare event object works too). Mapping
after Filebeat's ``cisco/amp`` ingest pipeline: every event is an alert; ``file``
gives ``file.*`` (and the ``malware`` category when its disposition is malicious),
its ``parent`` the acting ``process.*``; ``computer`` gives ``host.*``, ``user.name``
and ``related.ip``; ``network_info`` (DFC detections) gives ``source``/``destination``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.endpoint.common import load_object, put_number, put_text, put_time, put_value, related
from parsers.endpoint.urls import uri_parts
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, set_field

# Matched exactly, as Elastic does; an event without severity gets 0.
SEVERITIES: Final = {"Low": 1, "Medium": 2, "High": 3, "Critical": 4}
_HASHES: Final = ("md5", "sha1", "sha256")


def _hashes(event: Event, prefix: str, identity: Any, add_related: bool) -> None:
    if not isinstance(identity, dict):
        return
    for algo in _HASHES:
        value = identity.get(algo)
        if isinstance(value, str) and value:
            set_field(event, f"{prefix}.hash.{algo}", value)
            if add_related:
                related(event, "hash", value)


def _process(event: Event, parent: Any) -> None:
    """The acting process: AMP's ``parent`` of the file or connection."""
    if not isinstance(parent, dict):
        return
    put_number(event, "process.pid", parent.get("process_id"))
    put_text(event, "process.name", parent.get("file_name"))
    _hashes(event, "process", parent.get("identity"), add_related=False)


class CiscoAmpParser(BaseParser):
    """One AMP for Endpoints event to an ECS alert."""

    id = "cisco.amp"
    json_keys: ClassVar[tuple[str, ...]] = ("data.event_type_id",)
    route_signals: ClassVar[tuple[str, ...]] = ('"event_type_id"',)

    def accepts(self, raw: RawEvent) -> bool:
        return b'"event_type"' in raw.data and b'"connector_guid"' in raw.data

    def parse(self, raw: RawEvent) -> Event:
        doc = load_object(self.id, raw)
        nested = doc.get("data")
        data: dict[str, Any] = nested if isinstance(nested, dict) else doc
        if not isinstance(data.get("event_type"), str):
            raise ParseError(self.id, "no event_type")
        event = self.new_event(raw)
        ev = event["event"]
        ev["kind"] = "alert"
        ev["action"] = data["event_type"]
        event["tags"] = ["cisco-amp", "forwarded"]
        put_time(event, "@timestamp", data.get("date") or data.get("timestamp"))
        put_time(event, "event.start", data.get("start_date"))
        put_value(event, "event.id", data.get("id"))
        severity = data.get("severity")
        if severity is None:
            ev["severity"] = 0
        elif isinstance(severity, str) and severity in SEVERITIES:
            ev["severity"] = SEVERITIES[severity]
        put_value(event, "rule.name", data.get("detection"))
        self._computer(event, data.get("computer"))
        file = data.get("file")
        if isinstance(file, dict):
            self._file(event, file)
        network = data.get("network_info")
        if isinstance(network, dict):
            self._network(event, network)
        event["cisco"] = {"amp": {k: v for k, v in data.items() if k not in ("computer",)}}
        return event

    @staticmethod
    def _computer(event: Event, computer: Any) -> None:
        if not isinstance(computer, dict):
            return
        hostname = computer.get("hostname")
        if isinstance(hostname, str) and hostname:
            event["host"] = {"hostname": hostname, "name": hostname}
            related(event, "hosts", hostname)
        user = computer.get("user")
        if isinstance(user, str) and user:
            set_field(event, "user.name", user)
            related(event, "user", user)
        related(event, "ip", computer.get("external_ip"))
        addresses = computer.get("network_addresses")
        for address in addresses if isinstance(addresses, list) else []:
            if isinstance(address, dict):
                related(event, "ip", address.get("ip"))

    @staticmethod
    def _file(event: Event, file: dict[str, Any]) -> None:
        categories: list[str] = []
        if file.get("file_name"):
            categories.append("file")
        if file.get("disposition") == "Malicious":
            categories.append("malware")
        if categories:
            event["event"]["category"] = categories
        put_text(event, "file.name", file.get("file_name"))
        path = file.get("file_path")
        if isinstance(path, str) and path:
            set_field(event, "file.path", path)
            # Elastic's test for a Windows connector: a doubled backslash in the path
            # (the "\\?\" Win32 namespace prefix, or a UNC path).
            if "\\\\" in path:
                set_field(event, "host.os.family", "windows")
                set_field(event, "host.os.platform", "windows")
        _hashes(event, "file", file.get("identity"), add_related=True)
        _process(event, file.get("parent"))

    @staticmethod
    def _network(event: Event, network: dict[str, Any]) -> None:
        for side, prefix in (("source", "local"), ("destination", "remote")):
            ip = network.get(f"{prefix}_ip")
            if isinstance(ip, str) and ip:
                set_field(event, f"{side}.ip", ip)
                related(event, "ip", ip)
            put_number(event, f"{side}.port", network.get(f"{prefix}_port"))
        nfm = network.get("nfm")
        if isinstance(nfm, dict):
            direction = nfm.get("direction")
            if isinstance(direction, str) and direction:
                # Anything but "Outgoing connection from" is inbound, as in Elastic's pipeline.
                outgoing = direction.lower() == "outgoing connection from"
                set_field(event, "network.direction", "egress" if outgoing else "ingress")
            put_value(event, "network.transport", nfm.get("protocol"))
        url = network.get("dirty_url")
        if isinstance(url, str) and url:
            event["url"] = {**uri_parts(url), "original": url}
        _process(event, network.get("parent"))
