"""CEF (ArcSight Common Event Format) to ECS, as Filebeat's ``decode_cef`` and cef module do.

``CEF:Version|Vendor|Product|Version|ClassId|Name|Severity|k=v k=v...``, optionally
behind a syslog header. :func:`decode_cef` splits header and extensions (one regex pass
for the keys); :func:`cef_to_ecs` maps the well-known extensions to ECS with their types.
:class:`CefParser` is the ``cef.log`` dataset; vendor parsers reuse the functions.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from parsers.community_id import community_id
from parsers.syslog import MONTHS, apply_prefix_header, iso_utc, resolve_year_less
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

# CEF short keys and their full names (ArcSight CEF "Implementing ArcSight CEF" v25 tables).
SHORT_NAMES: Final = {
    "agt": "agentAddress", "ahost": "agentHostName", "aid": "agentId", "amac": "agentMacAddress",
    "art": "agentReceiptTime", "atz": "agentTimeZone", "at": "agentType", "av": "agentVersion",
    "app": "applicationProtocol", "cnt": "baseEventCount", "in": "bytesIn", "out": "bytesOut",
    "dst": "destinationAddress", "dlat": "destinationGeoLatitude", "dlong": "destinationGeoLongitude",
    "dhost": "destinationHostName", "dmac": "destinationMacAddress", "dntdom": "destinationNtDomain",
    "dpt": "destinationPort", "dpid": "destinationProcessId", "dproc": "destinationProcessName",
    "duid": "destinationUserId", "duser": "destinationUserName", "dpriv": "destinationUserPrivileges",
    "act": "deviceAction", "dvc": "deviceAddress", "cat": "deviceEventCategory", "dvchost": "deviceHostName",
    "dvcmac": "deviceMacAddress", "dvcpid": "deviceProcessId", "rt": "deviceReceiptTime",
    "dtz": "deviceTimeZone", "end": "endTime", "outcome": "eventOutcome", "fname": "filename",
    "fsize": "fileSize", "msg": "message", "request": "requestUrl", "src": "sourceAddress",
    "slat": "sourceGeoLatitude", "slong": "sourceGeoLongitude", "shost": "sourceHostName",
    "smac": "sourceMacAddress", "sntdom": "sourceNtDomain", "spt": "sourcePort", "spid": "sourceProcessId",
    "sproc": "sourceProcessName", "suid": "sourceUserId", "suser": "sourceUserName",
    "spriv": "sourceUserPrivileges", "start": "startTime", "proto": "transportProtocol",
    "catdt": "categoryDeviceType", "reason": "Reason", "cs1": "deviceCustomString1",
    "cs2": "deviceCustomString2", "cs3": "deviceCustomString3", "cs4": "deviceCustomString4",
    "cs5": "deviceCustomString5", "cs6": "deviceCustomString6", "cs1Label": "deviceCustomString1Label",
    "cs2Label": "deviceCustomString2Label", "cs3Label": "deviceCustomString3Label",
    "cs4Label": "deviceCustomString4Label", "cs5Label": "deviceCustomString5Label",
    "cs6Label": "deviceCustomString6Label", "cn1": "deviceCustomNumber1", "cn2": "deviceCustomNumber2",
    "cn3": "deviceCustomNumber3", "cn1Label": "deviceCustomNumber1Label", "cn2Label": "deviceCustomNumber2Label",
    "cn3Label": "deviceCustomNumber3Label", "cfp1": "deviceCustomFloatingPoint1",
    "cfp2": "deviceCustomFloatingPoint2", "cfp3": "deviceCustomFloatingPoint3",
    "cfp4": "deviceCustomFloatingPoint4", "c6a1": "deviceCustomIPv6Address1",
    "c6a2": "deviceCustomIPv6Address2", "c6a3": "deviceCustomIPv6Address3", "c6a4": "deviceCustomIPv6Address4",
    "DeviceOutboundInterface": "deviceOutboundInterface", "DevicePayloadId": "devicePayloadId",
}

# Extension types (CEF spec): numbers become numbers in cef.extensions too.
_INTEGER_KEYS: Final = frozenset({
    "baseEventCount", "bytesIn", "bytesOut", "destinationPort", "destinationProcessId",
    "destinationTranslatedPort", "deviceDirection", "deviceProcessId", "fileSize", "oldFileSize",
    "sourcePort", "sourceProcessId", "sourceTranslatedPort", "type", "eventId",
    "deviceCustomNumber1", "deviceCustomNumber2", "deviceCustomNumber3",
})
_FLOAT_KEYS: Final = frozenset({
    "destinationGeoLatitude", "destinationGeoLongitude", "sourceGeoLatitude", "sourceGeoLongitude",
    "deviceCustomFloatingPoint1", "deviceCustomFloatingPoint2", "deviceCustomFloatingPoint3",
    "deviceCustomFloatingPoint4",
})
_IP_KEYS: Final = frozenset({
    "agentAddress", "destinationAddress", "deviceAddress", "sourceAddress", "destinationTranslatedAddress",
    "sourceTranslatedAddress", "deviceTranslatedAddress", "agentTranslatedAddress",
})
_TIME_KEYS: Final = frozenset({
    "agentReceiptTime", "deviceReceiptTime", "endTime", "startTime", "fileCreateTime",
    "fileModificationTime", "oldFileCreateTime", "oldFileModificationTime", "deviceCustomDate1",
    "deviceCustomDate2", "flexDate1",
})

# Full extension name -> ECS field (Filebeat decode_cef's ECS mapping).
ECS_MAPPING: Final = {
    "agentAddress": "observer.ip", "agentDnsDomain": "observer.hostname", "agentHostName": "observer.hostname",
    "agentId": "observer.serial_number", "agentMacAddress": "observer.mac", "agentType": "observer.type",
    "agentVersion": "observer.version", "applicationProtocol": "network.application",
    "bytesIn": "source.bytes", "bytesOut": "destination.bytes", "customerExternalID": "organization.id",
    "customerURI": "organization.name", "destinationAddress": "destination.ip",
    "destinationDnsDomain": "destination.domain", "destinationHostName": "destination.domain",
    "destinationMacAddress": "destination.mac", "destinationPort": "destination.port",
    "destinationProcessId": "process.pid", "destinationProcessName": "destination.process.name",
    "destinationServiceName": "destination.service.name", "destinationTranslatedAddress": "destination.nat.ip",
    "destinationTranslatedPort": "destination.nat.port", "destinationUserId": "destination.user.id",
    "destinationUserName": "destination.user.name", "destinationUserPrivileges": "destination.user.group.name",
    "deviceAction": "event.action", "deviceAddress": "observer.ip", "deviceDirection": "network.direction",
    "deviceEventCategory": "event.category", "deviceExternalId": "observer.name",
    "deviceHostName": "observer.hostname", "deviceMacAddress": "observer.mac", "deviceProcessId": "process.pid",
    "deviceProcessName": "process.name", "deviceReceiptTime": "@timestamp", "deviceTimeZone": "event.timezone",
    "endTime": "event.end", "eventOutcome": "event.outcome", "fileCreateTime": "file.created",
    "fileHash": "file.hash", "fileId": "file.inode", "fileModificationTime": "file.mtime", "filename": "file.name",
    "filePath": "file.path", "filePermission": "file.group", "fileSize": "file.size", "fileType": "file.type",
    "message": "message", "requestClientApplication": "user_agent.original",
    "requestContext": "http.request.referrer", "requestMethod": "http.request.method",
    "requestUrl": "url.original", "sourceAddress": "source.ip", "sourceDnsDomain": "source.domain",
    "sourceHostName": "source.domain", "sourceMacAddress": "source.mac", "sourcePort": "source.port",
    "sourceProcessId": "source.process.pid", "sourceProcessName": "source.process.name",
    "sourceServiceName": "source.service.name", "sourceTranslatedAddress": "source.nat.ip",
    "sourceTranslatedPort": "source.nat.port", "sourceUserId": "source.user.id",
    "sourceUserName": "source.user.name", "sourceUserPrivileges": "source.user.group.name",
    "startTime": "event.start", "transportProtocol": "network.transport",
}
_LOWER_ECS: Final = frozenset({"network.transport"})
# Fields whose ECS type is a list.
_LIST_ECS: Final = frozenset({"event.category"})
_PATH_PARTS: Final = {path: tuple(path.split(".")) for path in ECS_MAPPING.values()}

_HEADER_SPLIT: Final = re.compile(r"(?<!\\)\|")
# A key is word characters (and [].-) right after a space, followed by an unescaped "=". ("(?<!\S)"
# says "at the start or after whitespace" like "(?:^|(?<=\s))", about 3x faster in re.)
_EXT_KEY: Final = re.compile(r"(?<!\S)([\w.\-\[\]]+)=")
_UNESCAPE: Final = re.compile(r"\\([\\|=nr])")
_UNESCAPE_MAP: Final = {"n": "\n", "r": "\r"}
_SEVERITIES: Final = {"low": 0, "unknown": None, "medium": 4, "high": 7, "very-high": 9}
_CEF_TIME: Final = re.compile(
    r"(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2})(?: (?P<year>\d{4}))? (?P<hh>\d{2}):(?P<mm>\d{2}):(?P<ss>\d{2})"
    r"(?:\.(?P<ms>\d{1,3}))?(?: (?P<zone>[A-Za-z]{1,5}|[+-]\d{2}:?\d{2}))?"
)


@dataclass(slots=True)
class CefRecord:
    """A decoded CEF message: the 7 header fields and the extensions (full names)."""

    version: str
    vendor: str
    product: str
    device_version: str
    class_id: str
    name: str
    severity: str
    extensions: dict[str, str] = field(default_factory=dict)
    prefix: str = ""


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _UNESCAPE.sub(lambda m: _UNESCAPE_MAP.get(m.group(1), m.group(1)), value)


def decode_cef(text: str) -> CefRecord | None:
    """Split ``...CEF:0|...`` into header and extensions; ``None`` when it is not CEF."""
    start = text.find("CEF:")
    if start < 0:
        return None
    body = text[start + 4 :]
    parts = _HEADER_SPLIT.split(body, 7)
    if len(parts) < 7:
        return None
    version = parts[0].strip()
    if not version.isdecimal():
        return None
    header = [_unescape(p) for p in parts[1:7]]
    extensions: dict[str, str] = {}
    if len(parts) == 8:
        ext = parts[7]
        keys = list(_EXT_KEY.finditer(ext))
        for i, m in enumerate(keys):
            end = keys[i + 1].start() if i + 1 < len(keys) else len(ext)
            value = ext[m.end() : end].strip()
            key = m.group(1)
            extensions[SHORT_NAMES.get(key, key)] = _unescape(value)
    vendor, product, device_version, class_id, name, severity = header
    return CefRecord(version, vendor, product, device_version, class_id, name, severity, extensions, text[:start])


def _cef_time(value: str, tz: tzinfo, now: datetime) -> datetime | None:
    """CEF time: epoch milliseconds or ``MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`` (UTC if none)."""
    if value.isdecimal():
        try:
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            return None
    m = _CEF_TIME.fullmatch(value)
    if m is None:
        return None
    month = MONTHS.get(m.group("mon").lower())
    if month is None:
        return None
    micro = int(m.group("ms").ljust(3, "0")) * 1000 if m.group("ms") else 0
    zone = m.group("zone")
    tzi: tzinfo = UTC
    if zone and zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tzi = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    args = (int(m.group("day")), int(m.group("hh")), int(m.group("mm")), int(m.group("ss")), micro)
    if m.group("year"):
        try:
            return datetime(int(m.group("year")), month, *args, tzinfo=tzi)
        except ValueError:
            return None
    return resolve_year_less(month, *args, tz=tzi, now=now)


def _typed(key: str, value: str) -> Any:
    """Convert an extension value to its CEF type; ``None`` when it does not fit."""
    if key in _INTEGER_KEYS:
        try:
            return int(value, 0) if value[:2].lower() == "0x" else int(value)
        except ValueError:
            return None
    if key in _FLOAT_KEYS:
        try:
            return float(value)
        except ValueError:
            return None
    if key in _IP_KEYS:
        return _canonical_ip(value)
    return value


@lru_cache(maxsize=65536)
def _canonical_ip(value: str) -> str | None:
    """The canonical text of an IP address (``None`` if not one), cached: devices repeat
    the same few addresses and ``ipaddress`` is slow."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _put(event: Event, path: str, value: Any) -> None:
    """:func:`soc_core.event.set_field` with the split paths cached (a few dozen targets)."""
    parts = _PATH_PARTS.get(path) or tuple(path.split("."))
    cur = event
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def cef_to_ecs(event: Event, record: CefRecord, tz: tzinfo, now: datetime) -> list[str]:
    """Fill ``event`` from a CEF record; returns conversion problems (kept in error.message)."""
    problems: list[str] = []
    cef: dict[str, Any] = {"version": record.version}
    device = {k: v for k, v in (("vendor", record.vendor), ("product", record.product),
                                ("version", record.device_version), ("event_class_id", record.class_id)) if v}
    if device:
        cef["device"] = device
    if record.name:
        cef["name"] = record.name
        event["message"] = record.name
    if record.severity:
        cef["severity"] = record.severity
    observer = event.setdefault("observer", {})
    for key, text in (("vendor", record.vendor), ("product", record.product), ("version", record.device_version)):
        if text:
            observer[key] = text
    if record.class_id:
        event["event"]["code"] = record.class_id
    severity = record.severity.lower()
    if severity in _SEVERITIES:
        if _SEVERITIES[severity] is not None:
            event["event"]["severity"] = _SEVERITIES[severity]
    elif severity.isdecimal():
        event["event"]["severity"] = int(severity)
    extensions: dict[str, Any] = {}
    for key, raw_value in record.extensions.items():
        value: Any = raw_value
        converted = True
        if key in _TIME_KEYS:
            ts = _cef_time(raw_value, tz, now)
            converted = ts is not None
            if ts is not None:
                value = iso_utc(ts)
            else:
                problems.append(f"{key}: not a CEF timestamp")
        else:
            typed = _typed(key, raw_value)
            converted = typed is not None
            if typed is not None:
                value = typed
            else:
                problems.append(f"{key}: {raw_value!r} is not a valid {_type_name(key)}")
        extensions[key] = value
        target = ECS_MAPPING.get(key)
        # A value that failed its type stays in cef.extensions but never reaches ECS.
        if target is None or not converted:
            continue
        if target in _LOWER_ECS and isinstance(value, str):
            value = value.lower()  # a protocol number stays a number, as in Filebeat
        _put(event, target, [value] if target in _LIST_ECS else value)
    lat, lon = extensions.get("sourceGeoLatitude"), extensions.get("sourceGeoLongitude")
    if isinstance(lat, float) and isinstance(lon, float):
        event.setdefault("source", {}).setdefault("geo", {})["location"] = {"lat": lat, "lon": lon}
    lat, lon = extensions.get("destinationGeoLatitude"), extensions.get("destinationGeoLongitude")
    if isinstance(lat, float) and isinstance(lon, float):
        event.setdefault("destination", {}).setdefault("geo", {})["location"] = {"lat": lat, "lon": lon}
    if extensions:
        cef["extensions"] = extensions
    event["cef"] = cef
    if extensions.get("deviceCustomString1Label") == "RuleID" and "deviceCustomString1" in extensions:
        event.setdefault("rule", {})["id"] = extensions["deviceCustomString1"]
    if not observer:
        del event["observer"]
    return problems


def _type_name(key: str) -> str:
    if key in _INTEGER_KEYS:
        return "integer"
    if key in _FLOAT_KEYS:
        return "number"
    return "IP address"


class CefParser(BaseParser):
    """``cef.log``: CEF lines (bare or behind a syslog header) to ECS."""

    id = "cef.log"
    route_signals: ClassVar[tuple[str, ...]] = ("CEF:0|", "CEF:1|")

    def accepts(self, raw: RawEvent) -> bool:
        return "CEF:" in raw.message

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        record = decode_cef(text)
        if record is None:
            raise ParseError(self.id, "not a CEF message (no CEF:version|vendor|product|version|id|name|severity)")
        event = self.new_event(raw)
        now = self.options.clock.now()
        if apply_prefix_header(event, record.prefix, self.options.tz, now):
            event.pop("related", None)
        problems = cef_to_ecs(event, record, self.options.tz, now)
        if problems:
            event["error"] = {"message": problems}
        self._vendor_rules(event, record)
        ecs_network(event)
        event["tags"] = ["cef", "forwarded"]
        return event

    @staticmethod
    def _vendor_rules(event: Event, record: CefRecord) -> None:
        """Per-vendor extras of Filebeat's cef module (Forcepoint NGFW custom strings)."""
        if record.vendor != "FORCEPOINT":
            return
        ext = record.extensions
        if "deviceCustomString1" in ext:
            event.setdefault("rule", {})["id"] = ext["deviceCustomString1"]
        if "deviceCustomString2" in ext:
            event.setdefault("rule", {})["id"] = ext["deviceCustomString2"]
        if "deviceCustomString3" in ext:
            event.setdefault("vulnerability", {})["reference"] = ext["deviceCustomString3"]
        if "deviceCustomString4" in ext:
            event["cef"].setdefault("forcepoint", {})["virus_id"] = ext["deviceCustomString4"]


def ecs_network(event: Event) -> None:
    """related.ip/user/hash and network.community_id from the ECS source/destination fields."""
    ext = event.get("cef", {}).get("extensions", {})
    add_related(event, "hash", ext.get("fileHash"), ext.get("oldFileHash"))
    source, destination = event.get("source", {}), event.get("destination", {})
    add_related(event, "ip", destination.get("ip"), destination.get("nat", {}).get("ip"),
                source.get("ip"), source.get("nat", {}).get("ip"))
    add_related(event, "user", destination.get("user", {}).get("name"), source.get("user", {}).get("name"))
    hosts = event.get("observer", {}).get("hostname")
    add_related(event, "hosts", hosts)
    cid = community_id(
        source.get("ip"), destination.get("ip"), source.get("port"), destination.get("port"),
        event.get("network", {}).get("transport") or event.get("network", {}).get("iana_number"),
    )
    if cid is not None:
        event.setdefault("network", {})["community_id"] = cid
