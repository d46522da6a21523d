"""Juniper Junos OS syslog (routers, switches, SRX in text form) to ECS:
dataset ``juniper.junos``.

Junos messages carry an upper-case tag naming the event (``UI_LOGIN_EVENT``,
``RT_FLOW_SESSION_CREATE``, ``SNMP_TRAP_LINK_DOWN``...; see Juniper's "System Log
Explorer"): ``host process[pid]: TAG: text`` in the standard format, or the RFC 5424
"structured-data" format with the tag as MSGID and named parameters. The tag becomes
``event.code``; named parameters and the common text forms (addresses, users) become ECS.
Observer values follow Elastic's ``juniper/junos`` module (Juniper / Junos / Routers).
"""

from __future__ import annotations

import re
from typing import Final

from parsers.base import BaseParser
from parsers.firewall._common import apply_map, finish_network, finish_related, put, to_int
from parsers.firewall.juniper_srx import COMMON as SRX_FIELDS
from parsers.syslog import split_syslog
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp

_TAG: Final = re.compile(r"^\s*([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:\[\d+\])?:?\s*(.*)$", re.S)
_FLOW: Final = re.compile(
    r"(?P<src>[0-9a-fA-F:.]+)/(?P<sport>\d+)->(?P<dst>[0-9a-fA-F:.]+)/(?P<dport>\d+)")
_FROM: Final = re.compile(r"\bfrom (?:host )?(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]+)"
                          r"(?: port (?P<port>\d+))?")
_USER: Final = re.compile(r"\b[Uu]ser '?(?P<user>[^'\s,:]+)'?")
_SEVERITIES: Final = ("emergency", "alert", "critical", "error", "warning", "notice",
                      "informational", "debug")
_LOGIN_OK: Final = frozenset({"UI_LOGIN_EVENT", "LOGIN_INFORMATION", "UI_AUTH_EVENT"})
_LOGIN_FAIL: Final = frozenset({"LOGIN_FAILED", "UI_LOGIN_FAILED", "SSHD_LOGIN_FAILED",
                                "LOGIN_PAM_AUTHENTICATION_ERROR"})


class JuniperJunosParser(BaseParser):
    """Junos syslog: ``Mar 1 10:00:00 rtr1 mgd[1234]: UI_COMMIT: User 'admin' requested ...``."""

    id = "juniper.junos"
    syslog_programs: tuple[str, ...] = ("mgd", "rpd", "chassisd", "dcd", "snmpd", "eswd",
                                        "kernel", "cli", "sshd", "jsrpd", "dfwd", "mib2d",
                                        # SRX processes in the standard (text) format
                                        "RT_FLOW", "RT_IDP", "RT_IDS", "RT_UTM", "RT_AAMW", "RT_SECINTEL")
    route_signals: tuple[str, ...] = ("UI_", "RPD_", "SNMP_TRAP_", "CHASSISD_")
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message
        if " [junos@" in text and text[:1] == "<":
            # The structured-data format (the tag is the MSGID); SRX's RT_* records are juniper.srx's.
            return " RT_" not in text[:160]
        return _TAG.search(text.split(": ", 1)[-1]) is not None

    def parse(self, raw: RawEvent) -> Event:
        header = split_syslog(raw.message, self.options.tz, self.options.clock.now())
        if header is None:
            raise ParseError(self.id, "no syslog header")
        event = self.new_event(raw)
        if header.timestamp is not None:
            event["@timestamp"] = format_timestamp(header.timestamp)
        put(event, "observer", {"vendor": "Juniper", "product": "Junos", "type": "Routers"})
        put(event, "host.hostname", header.hostname)
        put(event, "host.name", header.hostname)
        put(event, "observer.name", header.hostname)
        put(event, "process.name", header.program)
        put(event, "process.pid", to_int(header.pid))
        if header.priority is not None:
            put(event, "log.level", _SEVERITIES[header.priority & 7])
        text = header.message
        tag = header.msgid
        if tag is None:
            m = _TAG.match(text)
            if m:
                tag, text = m.group(1), m.group(2)
        code = tag or header.program
        if not code:
            raise ParseError(self.id, "no Junos event tag or process name")
        put(event, "event.code", code)
        put(event, "message", text.strip() or None)
        params: dict[str, str] = {}
        for values in header.structured_data.values():
            params.update({k.replace("-", "_"): v for k, v in values.items()
                           if v not in ("N/A", "UNKNOWN", "None", "")})
        if params:
            apply_map(event, params, SRX_FIELDS)
            put(event, "rule.name", params.get("policy_name"))
            put(event, "network.application", params.get("application"))
            put(event, "user.name", params.get("username"))
            put(event, "juniper.junos", params)
        self._text(event, text)
        self._classify(event, code)
        finish_network(event, nat_related=True)
        finish_related(event)
        return event

    def _text(self, event: Event, text: str) -> None:
        flow = _FLOW.search(text)
        if flow and "source" not in event:
            put(event, "source.ip", flow.group("src"))
            put(event, "source.port", int(flow.group("sport")))
            put(event, "destination.ip", flow.group("dst"))
            put(event, "destination.port", int(flow.group("dport")))
        origin = _FROM.search(text)
        if origin and "source" not in event:
            put(event, "source.ip", origin.group("ip"))
            put(event, "source.port", to_int(origin.group("port")))
        user = _USER.search(text)
        if user and "user" not in event:
            put(event, "user.name", user.group("user"))

    def _classify(self, event: Event, code: str) -> None:
        if code.startswith("RT_FLOW_SESSION"):
            put(event, "event.category", ["network"])
            if code.endswith(("CREATE", "CREATE_LS")):
                put(event, "event.type", ["start", "allowed", "connection"])
            elif code.endswith(("CLOSE", "CLOSE_LS")):
                put(event, "event.type", ["end", "allowed", "connection"])
            elif code.endswith(("DENY", "DENY_LS")):
                put(event, "event.type", ["denied", "connection"])
        elif code in _LOGIN_OK:
            put(event, "event.category", ["authentication"])
            put(event, "event.type", ["start"])
            put(event, "event.outcome", "success")
        elif code in _LOGIN_FAIL or "LOGIN_FAIL" in code or "AUTH_FAIL" in code:
            put(event, "event.category", ["authentication"])
            put(event, "event.type", ["start"])
            put(event, "event.outcome", "failure")
        elif code.startswith(("UI_CFG_AUDIT", "UI_COMMIT")):
            put(event, "event.category", ["configuration"])
            put(event, "event.type", ["change"])
