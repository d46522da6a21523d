"""Logsource routing: which events a rule is written for, as pySigma's pipelines say.

A rule is compiled once per :class:`Route` its logsource maps to. For Windows the
routes are built from pySigma's own tables (``sigma.pipelines.sysmon`` and
``sigma.pipelines.windows``), so the semantics are theirs: a generic category becomes
the Sysmon channel plus its event ids (process_creation → Sysmon 1), PowerShell
categories become their channel and event id, a service becomes its channel(s); the
Windows audit pipeline adds Security 4688 (process_creation) and 4657 (registry) with
their field renames. A Windows rule whose logsource none of the tables knows sees every
Windows event, as a converted query without a logsource condition would.

Non-Windows rules are routed by ``event.dataset`` prefixes to a field-mapping family of
``fieldmap.ECS_FIELDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

from sigma.pipelines.common import windows_logsource_mapping
from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping
from sigma.pipelines.windows.windows import (
    generic_logsource_to_windows_audit_event_mapping as _audit_mapping,
)
from sigma.pipelines.windows.windows import (
    windows_generic_category_channel_mapping,
)
from sigma.rule import SigmaLogSource

from rules.sigma.fieldmap import WINDOWS_AUDIT_PROCESS_FIELDS
from rules.sigma.route import Route, event_route_key

try:  # Security 4657 names of registry fields (pySigma's audit pipeline)
    from sigma.pipelines.windows.windows import windows_audit_registry_fieldmappings as _REG
except ImportError:  # an older pipeline package without the registry mapping
    _REG = {"Image": "ProcessName", "TargetObject": "ObjectName"}
WINDOWS_AUDIT_REGISTRY_FIELDS: Final[Mapping[str, str]] = {**WINDOWS_AUDIT_PROCESS_FIELDS, **_REG}

try:  # fields pySigma's audit pipeline refuses for 4657 (no counterpart in that event)
    from sigma.pipelines.windows.windows import windows_audit_registry_unsupported_fields as _REG_UNSUPPORTED
except ImportError:
    _REG_UNSUPPORTED = ["EventType", "NewName", "User"]

SYSMON_CHANNEL: Final = str(windows_logsource_mapping["sysmon"])
# pySigma annotates this table with ``ast.Dict`` (a typo for typing.Dict): retype it.
AUDIT_MAPPING: Final = cast("dict[str, dict[str, Any]]", _audit_mapping)

__all__ = [
    "AUDIT_MAPPING", "ECS_LOGSOURCES", "SYSMON_CHANNEL", "Route", "event_route_key", "routes_for", "windows_routes",
]


def _ids(value: Any) -> frozenset[str]:
    values = value if isinstance(value, list) else [value]
    return frozenset(str(v) for v in values)


def _channels(service: str) -> frozenset[str] | None:
    source = windows_logsource_mapping.get(service)
    if source is None:
        return None
    values = source if isinstance(source, list) else [source]
    return frozenset(str(v).lower() for v in values)


# Non-Windows logsources: (logsource keys to match, family, event.dataset prefixes).
# A rule matches an entry when every key given there equals the rule's value.
ECS_LOGSOURCES: Final[tuple[tuple[Mapping[str, str], str, tuple[str, ...]], ...]] = (
    ({"category": "webserver"}, "webserver", (
        "apache.access", "nginx.access", "nginx.ingress_controller", "iis.access", "haproxy", "modsecurity",
        "tomcat")),
    ({"service": "apache"}, "webserver", ("apache",)),
    ({"service": "nginx"}, "webserver", ("nginx",)),
    ({"category": "antivirus"}, "antivirus", (
        "clamav", "cisco.amp", "crowdstrike", "microsoft.defender_atp", "microsoft.m365_defender",
        "eset_protect", "kaspersky", "symantec_endpoint")),
    ({"category": "proxy"}, "proxy", ("squid", "bluecoat", "zscaler", "proxy")),
    ({"category": "firewall"}, "network", (
        "cisco.asa", "cisco.ftd", "cisco.meraki", "pfsense", "opnsense", "iptables", "fortinet", "panw",
        "checkpoint", "juniper", "sophos", "sonicwall", "netfilter")),
    ({"category": "dns"}, "network", ("dns", "zeek.dns", "bind", "dnsmasq")),
    ({"product": "zeek"}, "network", ("zeek",)),
    ({"product": "linux", "category": "process_creation"}, "host", ("auditd", "endpoint", "sysmon_linux")),
    ({"product": "linux", "category": "file_event"}, "host", ("auditd", "endpoint", "sysmon_linux")),
    ({"product": "linux", "category": "network_connection"}, "host", ("auditd", "endpoint", "sysmon_linux")),
    ({"product": "linux", "service": "auditd"}, "host", ("auditd",)),
    ({"product": "linux", "service": "auth"}, "host", ("system.auth",)),
    ({"product": "linux", "service": "sshd"}, "host", ("system.auth",)),
    ({"product": "linux", "service": "sudo"}, "host", ("system.auth",)),
    ({"product": "linux", "service": "syslog"}, "host", ("system.syslog",)),
    ({"product": "linux", "service": "cron"}, "host", ("system.syslog",)),
    ({"product": "linux", "service": "vsftpd"}, "host", ("vsftpd", "system.syslog")),
    ({"product": "linux", "service": "clamav"}, "host", ("clamav",)),
    # ModSecurity reports in its own audit log or in the web server's error log.
    ({"product": "linux", "service": "modsecurity"}, "webserver", ("modsecurity", "nginx.error", "apache.error")),
    ({"product": "linux"}, "host", ("system", "auditd", "linux")),
    ({"product": "cisco"}, "network", ("cisco",)),
    ({"product": "fortigate"}, "network", ("fortinet",)),
    ({"product": "fortios"}, "network", ("fortinet",)),
    ({"product": "macos"}, "host", ("macos", "endpoint")),
)


def _logsource_dict(logsource: SigmaLogSource) -> dict[str, str]:
    return {k: v.lower() for k, v in (("product", logsource.product), ("category", logsource.category),
                                       ("service", logsource.service)) if v}


def windows_routes(category: str | None, service: str | None) -> list[Route]:
    """The Windows routes of a ``product: windows`` logsource (pySigma pipeline semantics)."""
    routes: list[Route] = []
    if category and category in sysmon_generic_logsource_eventid_mapping:
        routes.append(Route(
            name=f"sysmon:{category}", windows=True, channels=frozenset({SYSMON_CHANNEL.lower()}),
            event_ids=_ids(sysmon_generic_logsource_eventid_mapping[category]),
        ))
    if category and category in AUDIT_MAPPING:
        spec = dict(AUDIT_MAPPING[category])
        event_ids = _ids(spec.pop("EventID"))
        conditions = tuple(
            (name, tuple(str(v).lower() for v in (vals if isinstance(vals, list) else [vals])))
            for name, vals in spec.items()
        )
        registry = category.startswith("registry")
        routes.append(Route(
            name=f"security:{category}", windows=True, channels=frozenset({"security"}), event_ids=event_ids,
            conditions=conditions,
            renames=WINDOWS_AUDIT_REGISTRY_FIELDS if registry else WINDOWS_AUDIT_PROCESS_FIELDS,
            unsupported=frozenset(_REG_UNSUPPORTED) if registry else frozenset(),
        ))
    if category and category in windows_generic_category_channel_mapping:
        info = windows_generic_category_channel_mapping[category]
        routes.append(Route(
            name=f"windows:{category}", windows=True, channels=_channels(str(info["service"])),
            event_ids=_ids(info["EventID"]),
        ))
    if not routes and service:
        channels = _channels(service)
        if channels is not None:
            # The Security channel keeps its own names, but pySigma's audit pipeline also
            # renames Sysmon-taxonomy fields there (Image -> NewProcessName...).
            renames = WINDOWS_AUDIT_PROCESS_FIELDS if service == "security" else {}
            routes.append(Route(name=f"service:{service}", windows=True, channels=channels, renames=renames))
    if not routes:
        routes.append(Route(name="windows:any", windows=True))
    return routes


def routes_for(logsource: SigmaLogSource) -> list[Route]:
    """Every route a rule with this logsource is compiled for (empty: it sees nothing)."""
    ls = _logsource_dict(logsource)
    if ls.get("product") == "windows":
        return windows_routes(ls.get("category"), ls.get("service"))
    for keys, family, datasets in ECS_LOGSOURCES:
        if all(ls.get(k) == v for k, v in keys.items()):
            return [Route(name=f"ecs:{family}", windows=False, family=family, datasets=datasets)]
    product = ls.get("product")
    if product:
        # Unknown product (aws, okta, ...): the events whose dataset is named after it.
        return [Route(name=f"ecs:{product}", windows=False, family=None, datasets=(product,))]
    return []
