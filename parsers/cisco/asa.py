"""``cisco.asa`` and ``cisco.ftd``: Cisco ASA / Firepower Threat Defense syslog to ECS.

A line is an optional ``<pri>``, an optional timestamp, an optional ``host process[pid]:``
and the EMBLEM message ``%ASA-6-302013: body``. One regex splits the header; the message
id then routes to ONE grok pattern of ``patterns/cisco-asa.grok`` (conditional routing,
never a list of patterns tried in turn). FTD security events (``430001``-``430005``) are
``Key: value`` lists. Output follows Filebeat's cisco module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, ClassVar, Final, NamedTuple

from parsers.base import BaseParser, ParserOptions
from parsers.cisco.ftd_security import apply_security_event
from parsers.community_id import community_id
from parsers.community_id import is_ip as _is_ip
from parsers.grok import GrokPattern, default_library
from parsers.grok.library import Cast
from parsers.syslog import MONTHS, iso_utc, parse_any_header, parse_iso, year_less_stamps
from parsers.urls import apply_url
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, ensure_object, format_timestamp, new_event

_HEADER: Final = re.compile(
    r"(?:<(?P<pri>\d{1,3})>\s*)?"
    r"(?:(?:(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
    r"|(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2})(?: (?P<year>\d{4}))?"
    r" (?P<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?(?: (?P<zone>[A-Z]{3,4}))?):?\s+)?"
    r"(?P<rest>.*)",
    re.S,
)
_EMBLEM: Final = re.compile(
    r"%(?P<prefix>[A-Z]+)-(?:(?P<suffix>[^0-9-]+)-)?(?P<sev>\d+)-(?P<id>\d+)?:?\s*(?P<msg>.*)", re.S
)
_BEFORE_EMBLEM: Final = re.compile(
    r"(?:(?P<host>[\w.\-]+|[0-9A-Fa-f:]+:[0-9A-Fa-f.:]*)\s*:?\s+)?(?:(?P<proc>[^%\s:\[]+)?(?:\[(?P<pid>\d+)\])?)?:?\s*"
)
# Without an EMBLEM header: "process: host: text" (FMC audit) or "host process[pid]: text".
_NO_EMBLEM: Final = re.compile(
    r"(?:(?P<proc1>[^%\s:\[]+): (?P<hostname>[^\s:]+): |(?P<host>[^\s:\[]+) (?P<proc>[^%\s:\[]+)"
    r"(?:\[(?P<pid>\d+)\])?: )(?P<msg>.*)",
    re.S,
)
# Zone abbreviations ASA appends to timestamps ("clock timezone"); others fall back to --tz.
ZONES: Final = {
    name: timezone(timedelta(hours=hours)) for name, hours in (
        ("UTC", 0), ("GMT", 0), ("EST", -5), ("EDT", -4), ("CST", -6), ("CDT", -5), ("MST", -7),
        ("MDT", -6), ("PST", -8), ("PDT", -7), ("CET", 1), ("CEST", 2), ("BST", 1), ("IST", 5.5),
        ("JST", 9), ("AEST", 10), ("AEDT", 11),
    )
}
_LEVELS: Final = ("unknown", "alert", "critical", "error", "warning", "notification", "informational", "debug")
IANA_NUMBERS: Final = {
    "icmp": 1, "igmp": 2, "ipv4": 4, "tcp": 6, "egp": 8, "igp": 9, "pup": 12, "udp": 17, "rdp": 27,
    "irtp": 28, "dccp": 33, "idpr": 35, "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46,
    "gre": 47, "esp": 50, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
}
_IANA_NAMES: Final = {str(v): k for k, v in IANA_NUMBERS.items()}

# message id -> pattern name in cisco-asa.grok
ROUTES: Final = {
    "106001": "ASA_106001", "106002": "ASA_106002", "106006": "ASA_106006", "106007": "ASA_106007",
    "106010": "ASA_106010", "106013": "ASA_106013", "106014": "ASA_106014", "106015": "ASA_106015",
    "106016": "ASA_106016", "106017": "ASA_106017", "106018": "ASA_106018", "106020": "ASA_106020",
    "106021": "ASA_106021", "106022": "ASA_106022", "106023": "ASA_106023", "106027": "ASA_106027",
    "106100": "ASA_106100", "106102": "ASA_106102", "106103": "ASA_106102",
    "302013": "ASA_BUILT", "302015": "ASA_BUILT", "302017": "ASA_BUILT", "302303": "ASA_BUILT",
    "302014": "ASA_TEARDOWN", "302016": "ASA_TEARDOWN", "302018": "ASA_TEARDOWN", "302304": "ASA_TEARDOWN",
    "302020": "ASA_ICMP_FADDR", "302021": "ASA_ICMP_FADDR",
    "305011": "ASA_305011", "305012": "ASA_305012", "113019": "ASA_113019", "722051": "ASA_722051",
    "734001": "ASA_734001", "304001": "ASA_304001", "304002": "ASA_304002",
    "313001": "ASA_313001", "313008": "ASA_313001", "313004": "ASA_313004", "313005": "ASA_313005",
    "313009": "ASA_313009", "322001": "ASA_322001", "338301": "ASA_338301", "602304": "ASA_602304",
    "434001": "ASA_434001", "434003": "ASA_434003", "710003": "ASA_710003", "110002": "ASA_110002",
    "605004": "ASA_605004", "605005": "ASA_605005", "611101": "ASA_611101", "611102": "ASA_611102",
    "113004": "ASA_113004", "113005": "ASA_113005", "733100": "ASA_733100",
}
ROUTES.update(dict.fromkeys((
    "338001", "338002", "338003", "338004", "338005", "338006", "338007", "338008",
    "338101", "338102", "338103", "338104", "338201", "338202", "338203", "338204",
), "ASA_338"))
# Dynamic-filter ids whose listed entry names a domain (source side for the odd ones).
_338_SOURCE_DOMAIN: Final = frozenset({"338001", "338005", "338101", "338201", "338203"})
_338_DEST_DOMAIN: Final = frozenset({"338002", "338006", "338102", "338202", "338204"})
_FLOW_END: Final = frozenset({"302014", "302016", "302018", "302021", "302036", "302304", "302306", "305012"})
_SECURITY: Final = frozenset({"430001", "430002", "430003", "430004", "430005"})
_ALLOWED: Final = frozenset({"permitted", "allow", "allowed", "est-allowed", "accessed"})
_DENIED: Final = frozenset({"deny", "denied", "block"})
_DROPPED: Final = frozenset({"dropped", "drop"})
# raw outcome (lower case) -> (event.outcome, event.type)
_OUTCOMES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    **dict.fromkeys(_ALLOWED, ("success", ("allowed", "connection"))),
    **dict.fromkeys(_DENIED, ("success", ("connection", "denied"))),
    **dict.fromkeys(_DROPPED, ("failure", ("connection", "denied"))),
    "monitored": ("success", ("info",)),
}
_OWN_ACTIONS: Final = _FLOW_END | {"304001", "302020", "602304", "434001", "434003"}
_MAPPED_KEYS: Final = (("source", "mapped_source_ip", "mapped_source_port"),
                       ("destination", "mapped_destination_ip", "mapped_destination_port"))
_MAPPED: Final = frozenset(key for _, ip_key, port_key in _MAPPED_KEYS for key in (ip_key, port_key))
# (helper capture, its port capture, cisco key if an IP, if a name, of the port), per side;
# spelled out once rather than formatted per line.
_NAT_CAPTURES: Final = tuple(
    (key, f"{key}_port", f"mapped_{side}_ip", f"mapped_{side}_host", f"mapped_{side}_port")
    for side, key in (("source", "_mapped_src"), ("destination", "_mapped_dst"))
)
_USERNAME_KEYS: Final = (("source", "source_username"), ("destination", "destination_username"))
_LOWERCASED: Final = frozenset({"transport", "protocol", "application", "direction"})  # network.* values
_NO: Final[dict[str, Any]] = {}  # read-only default for .get chains: never written to
_NO_VALUES: Final = (None, "", "-")  # what add_related leaves out


@lru_cache(maxsize=8192)
def _header_stamps(
    iso: str | None, mon: str | None, day: str | None, year: str | None, clock: str | None, zone: str | None,
    default_tz: tzinfo, now_year: int,
) -> tuple[bool, tuple[tuple[datetime, str], ...]]:
    """A header stamp as ``(fixed, ((datetime, @timestamp text), ...))``: one entry (or none
    if invalid) when it names its year, else every occurrence latest first (the first not
    after the reference time wins, as :func:`parsers.syslog.resolve_year_less` picks).

    Cached on the text parts: a firewall logs thousands of lines per stamp.
    """
    tz = ZONES.get(zone or "", default_tz)
    if iso is not None:
        ts = parse_iso(iso, default_tz)
        return True, (() if ts is None else ((ts, iso_utc(ts)),))
    month = MONTHS.get((mon or "").lower())
    hh, mm, ss = (int(x) for x in (clock or "").split(":"))
    if month is None or hh >= 24 or mm >= 60 or ss >= 61 or day is None:
        return True, ()
    ss = min(ss, 59)
    if year:
        try:
            ts = datetime(int(year), month, int(day), hh, mm, ss, tzinfo=tz)
        except ValueError:
            return True, ()
        return True, ((ts, iso_utc(ts)),)
    return False, year_less_stamps(month, int(day), hh, mm, ss, 0, tz, now_year)


class _Kind(NamedTuple):
    """How a message id (and the outcome its text gave) classifies the event."""

    outcome: str | None  # event.outcome, if any
    action: str | None  # event.action when the id fixes it
    categories: tuple[str, ...]
    types: tuple[str, ...]
    network_type: str | None
    kind: str


@lru_cache(maxsize=4096)  # a few hundred message ids, each with a few outcome words
def _classify(message_id: str, raw_outcome: str | None) -> _Kind:
    """event.outcome/action/category/type/kind of a message, from its captured outcome.

    Pure in its two texts, so worked out once per pair rather than per line; the event
    keys are then written in the order the per-line code wrote them.
    """
    outcome: str | None = None
    action: str | None = None
    network_type: str | None = None
    types: list[str] = []
    categories: list[str] = ["network"] if message_id and message_id not in ("434001", "434003") else []
    if raw_outcome is not None:
        lowered = raw_outcome.lower()
        known = _OUTCOMES.get(lowered)
        if known is None:
            outcome = lowered
        else:
            outcome, outcome_types = known
            types = list(outcome_types)
            if lowered == "monitored":
                categories.insert(0, "intrusion_detection")
    if message_id in _OWN_ACTIONS:  # a few ids fix action/outcome/type whatever the text says
        if message_id == "304001":
            outcome = "success"
            types = ["allowed", "connection"]
        if message_id in _FLOW_END:
            action = "flow-expiration"
            types = ["connection", "end"]
        elif message_id == "302020":
            action = "flow-creation"
            types = ["connection", "start"]
        elif message_id == "602304":
            action = "deleted"
            outcome = "success"
            types = ["deletion", "info", "user"]
            network_type = "ipsec"
        elif message_id in ("434001", "434003"):
            action = "drop" if message_id == "434001" else "reset"
            outcome = "unknown"
    if message_id in _SECURITY:  # (their categories read the types only, not the outcome)
        categories, types = _security_categories(message_id, outcome, types)
    elif message_id and not types and message_id not in ("434001", "434003"):
        types = ["info"]
    return _Kind(outcome, action, tuple(categories), tuple(types), network_type,
                 "alert" if message_id in ("430001", "430004", "430005") else "event")


class _Prefix(NamedTuple):
    """What a line says before its EMBLEM ``%``: the syslog header and the sender."""

    priority: int | None  # log.syslog.priority, when the <pri> is a valid one
    timestamp: str | None  # @timestamp of a stamp that names its year (or an ISO stamp)
    year_less: tuple[str | None, ...] | None  # else _header_stamps' texts, resolved per line
    host: str | None
    process: str | None
    pid: int | None


# Distinct texts before the "%" kept (they change once a second or so): a few seconds of
# a busy firewall's senders; the cache is emptied when full.
_MAX_PREFIXES: Final = 4096


class CiscoAsaParser(BaseParser):
    """Cisco ASA syslog (EMBLEM format) to ECS; ``cisco.ftd`` shares everything but names."""

    id = "cisco.asa"
    product = "asa"
    max_severity = 7
    syslog_programs: ClassVar[tuple[str, ...]] = ()
    # PIX, the ASA's predecessor, writes the same messages as "%PIX-".
    route_signals: ClassVar[tuple[str, ...]] = ("%ASA-", "%PIX-")

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        lib = default_library()
        # Per message id, where each capture slot goes, worked out once: _Plan.apply then
        # assigns straight from m.groups() (no {path: value} dict built and walked per line).
        plans = {name: _Plan.of(lib.compile(f"%{{{name}}}")) for name in set(ROUTES.values())}
        self._plans: dict[str, _Plan] = {mid: plans[name] for mid, name in ROUTES.items()}
        self._tags = (f"cisco-{self.product}", "forwarded")
        # The text before a line's EMBLEM "%" -> what it says (see _prefix): lines repeat
        # their header and sender, and reading them took three regexes per line.
        self._prefixes: dict[str, _Prefix] = {}

    def accepts(self, raw: RawEvent) -> bool:
        return any(signal in raw.message for signal in self.route_signals)

    def parse(self, raw: RawEvent) -> Event:
        return parse_any_header(self._parse_bsd, raw, self.options.tz, self.options.clock)

    def _parse_bsd(self, raw: RawEvent) -> Event:
        event = new_event(raw, self.id, stamped=False)  # nearly every line names its time
        ecs = event["event"]
        text = raw.message
        cisco: dict[str, Any] = {}
        # No header part can hold a "%": the first one is where the EMBLEM header starts.
        cut = text.find("%")
        emblem = _EMBLEM.match(text, cut) if cut >= 0 else None
        if emblem is not None:
            prefix = self._prefixes.get(text[:cut])
            if prefix is None:
                prefix = self._prefix(text[:cut])
            self._apply_prefix(event, prefix)
            _, suffix, sev, mid, msg = emblem.groups()
            message_id = mid or ""
            severity = int(sev)
            body = msg.rstrip()
            if suffix:
                cisco["suffix"] = suffix
        else:
            header = _HEADER.match(text)
            if header is None:  # the regex accepts any text; this guards the type only
                raise ParseError(self.id, "no Cisco header")
            self._apply_prefix(event, _Prefix(*self._header_parts(header), None, None, None))
            m = _NO_EMBLEM.match(header.group("rest"))
            if m is None:
                raise ParseError(self.id, "no %ASA-/%FTD- message header and no 'host process:' prefix")
            if m.group("proc1"):
                event["process"] = {"name": m.group("proc1")}
                event["host"] = {"name": m.group("hostname")}
            else:
                self._host(event, m)
            message_id, severity, body = "", 7, m.group("msg").rstrip()
        if severity > self.max_severity:
            raise ParseError(self.id, f"severity {severity} is above the configured log level {self.max_severity}")
        if event["@timestamp"] is None:  # no stamp in the header: the time of reception
            event["@timestamp"] = format_timestamp(raw.received)
        ecs["severity"] = severity
        event.setdefault("log", {})["level"] = _LEVELS[severity]
        plan: _Plan | None = None
        groups: tuple[str | Any, ...] = ()
        if message_id in _SECURITY or (not message_id and ": " in body and "," in body and emblem is None):
            message_id = apply_security_event(event, cisco, body, message_id)
        elif message_id:
            plan = self._plans.get(message_id)
            m = plan.fullmatch(body) if plan is not None else None
            if m is not None:
                groups = m.groups()
        if message_id:
            cisco["message_id"] = message_id
            ecs["code"] = int(message_id)
            ecs.setdefault("action", "firewall-rule")
        fields: dict[str, Any] = {}  # the "_x" helper captures
        if groups and plan is not None:
            plan.apply(event, cisco, fields, groups)
        self._fields(event, ecs, cisco, fields, message_id)
        self._finish(event, ecs, cisco, message_id)
        return event

    # --- header ------------------------------------------------------------------------

    def _prefix(self, text: str) -> _Prefix:
        """Read (and keep) what ``text``, a line up to its EMBLEM ``%``, says.

        Neither the header regex nor the sender regex can match a ``%``, so reading the
        text before it reads the line's own header. Only a stamp without a year depends
        on the clock: it is kept as texts.
        """
        header = _HEADER.match(text)
        if header is None:  # the regex accepts any text; this guards the type only
            raise ParseError(self.id, "no Cisco header")
        priority, timestamp, year_less = self._header_parts(header)
        rest = header.group("rest")
        host = process = None
        pid: int | None = None
        sender = _BEFORE_EMBLEM.fullmatch(rest) if rest else None  # none before the EMBLEM header
        if sender is not None:
            host, process, pid_text = sender.groups()
            pid = int(pid_text) if pid_text else None
        if len(self._prefixes) >= _MAX_PREFIXES:
            self._prefixes.clear()
        prefix = self._prefixes[text] = _Prefix(priority, timestamp, year_less, host, process, pid)
        return prefix

    def _apply_prefix(self, event: Event, prefix: _Prefix) -> None:
        """Write the header and sender fields :meth:`_prefix` read."""
        priority, timestamp, year_less, host, process, pid = prefix
        if priority is not None:
            event.setdefault("log", {})["syslog"] = {
                "priority": priority, "facility": {"code": priority >> 3}, "severity": {"code": priority & 7},
            }
        if timestamp is not None:
            event["@timestamp"] = timestamp
        elif year_less is not None:
            now = self.options.clock.now()
            iso, mon, day, year, clock, zone = year_less
            for ts, stamp in _header_stamps(iso, mon, day, year, clock, zone, self.options.tz, now.year)[1]:
                if ts <= now:
                    event["@timestamp"] = stamp
                    break
        if host:
            event["host"] = {"hostname": host}
            event["observer"] = {"hostname": host}
            if host != "-":  # add_related(event, "hosts", host) on a fresh event, inlined
                event["related"] = {"hosts": [host]}
        if process:
            event["process"] = {"name": process} if pid is None else {"name": process, "pid": pid}
        elif pid is not None:
            event["process"] = {"pid": pid}

    def _header_parts(self, m: re.Match[str]) -> tuple[int | None, str | None, tuple[str | None, ...] | None]:
        """The priority (if valid), and a stamp naming its year as @timestamp text or a
        year-less one as its texts (resolved per line by :meth:`_apply_prefix`)."""
        pri, iso, mon, day, year, clock, zone, _ = m.groups()
        priority = int(pri) if pri is not None and int(pri) < 192 else None
        if iso is None and mon is None:
            return priority, None, None
        fixed, stamps = _header_stamps(iso, mon, day, year, clock, zone, self.options.tz,
                                       self.options.clock.now().year)
        if not fixed:
            return priority, None, (iso, mon, day, year, clock, zone)
        return priority, stamps[0][1] if stamps else None, None

    @staticmethod
    def _host(event: Event, m: re.Match[str] | None) -> None:
        if m is None:
            return
        host, proc, pid = m.group("host", "proc", "pid")
        if host:
            event["host"] = {"hostname": host}
            event["observer"] = {"hostname": host}
            if host != "-":  # add_related(event, "hosts", host) on a fresh event, inlined
                event.setdefault("related", {}).setdefault("hosts", []).append(host)
        if proc:
            event["process"] = {"name": proc}
        if pid:
            event.setdefault("process", {})["pid"] = int(pid)

    # --- body fields -------------------------------------------------------------------

    def _fields(
        self, event: Event, ecs: dict[str, Any], cisco: dict[str, Any], fields: dict[str, Any], message_id: str
    ) -> None:
        private = bool(fields)  # "_x" helper captures: most messages have none, so skip their checks
        if "list_id" in cisco:
            cisco["rule_name"] = cisco.pop("list_id")
        if private:
            self._private_fields(ecs, cisco, fields)
        if message_id == "302020":
            event.setdefault("network", {})["protocol"] = fields.get("_icmp", "icmp").lower()
        elif message_id == "302021":
            event.setdefault("network", {})["transport"] = fields.get("_icmp", "icmp")
        listed = fields.get("_listed") if private else None
        if listed:
            if message_id in _338_SOURCE_DOMAIN:
                event.setdefault("source", {})["domain"] = listed
                event["server"] = {"domain": listed}
            elif message_id in _338_DEST_DOMAIN:
                event.setdefault("destination", {})["domain"] = listed
                event["server"] = {"domain": listed}
        if private and "_dap" in fields:
            cisco["dap_records"] = re.split(r",\s+", fields["_dap"])
        if message_id == "338301":
            event["client"] = {"address": event["destination"]["address"], "port": event["destination"]["port"]}
            event["server"] = {"address": event["source"]["address"], "port": event["source"]["port"]}
        if "source_username" not in cisco and "destination_username" not in cisco:
            return
        for side, username in _USERNAME_KEYS:
            name = cisco.get(username)
            if not isinstance(name, str):
                continue
            # "(dave, 246)": the user and its TrustSec security group tag.
            user, _, tag = name.partition(", ")
            if tag.isdecimal():
                cisco[f"{side}_username"] = user
                cisco[f"{side}_user_security_group_tag"] = int(tag)
            # "AD\\bob" names a domain; "LOCAL\\bob" is the firewall's own user database.
            parts = user.split("\\")
            user = parts[-1]
            domain = parts[-2] if len(parts) > 1 and parts[-2].upper() != "LOCAL" else ""
            user, _, at_domain = user.partition("@")
            domain = at_domain or domain
            event.setdefault(side, {}).setdefault("user", {})["name"] = user
            if domain:
                event[side]["user"]["domain"] = domain
            if side == "destination":
                event.setdefault("user", {})["name"] = user

    @staticmethod
    def _private_fields(ecs: dict[str, Any], cisco: dict[str, Any], fields: dict[str, Any]) -> None:
        """NAT mappings, durations and the teardown tail from the ``_x`` helper captures."""
        for key, port_key, ip_name, host_name, port_name in _NAT_CAPTURES:
            mapped = fields.get(key)
            if mapped is not None:
                cisco[ip_name if _is_ip(mapped) else host_name] = mapped
            port = fields.get(port_key)
            if port is not None:
                cisco[port_name] = port
        duration = fields.get("_duration")
        if duration is None and fields.get("_duration_dhms"):
            duration = _dhms(fields["_duration_dhms"])
        elif duration is not None:
            duration = _hms(duration)
        if duration is not None:
            ecs["duration"] = duration * 1_000_000_000
        tail = (fields.get("_tail") or "").strip()
        if tail:
            if tail.startswith("(") and tail.endswith(")"):
                cisco["termination_user"] = tail[1:-1]
            else:
                reason, _, user = tail.partition(" (")
                if reason:
                    ecs["reason"] = reason
                if user.endswith(")"):
                    cisco["termination_user"] = user[:-1]

    # --- normalisation -----------------------------------------------------------------

    def _finish(self, event: Event, ecs: dict[str, Any], cisco: dict[str, Any], message_id: str) -> None:
        network = event.get("network")
        if network is None:
            network = {}
        else:
            for key, value in network.items():  # values change, keys do not: safe to iterate
                if key not in _LOWERCASED:
                    continue
                if isinstance(value, str):
                    network[key] = value.lower()
                elif isinstance(value, list):
                    network[key] = [v.lower() if isinstance(v, str) else v for v in value]
        transport = network.get("transport")
        if transport == "icmpv6":
            transport = network["transport"] = "ipv6-icmp"
        if transport is not None:
            if transport in IANA_NUMBERS:
                network["iana_number"] = IANA_NUMBERS[transport]
            elif transport in _IANA_NAMES:
                network["iana_number"] = int(transport)
                network["transport"] = _IANA_NAMES[transport]
        raw_outcome = ecs.pop("outcome", None)
        outcome, action, categories, types, network_type, kind = _classify(
            message_id, raw_outcome if isinstance(raw_outcome, str) else None)
        if outcome is not None:
            ecs["outcome"] = outcome
        elif isinstance(raw_outcome, list):  # kept as captured, unless the id fixes it
            ecs["outcome"] = raw_outcome
        if action is not None:
            ecs["action"] = action
        if network_type is not None:
            network["type"] = network_type
        if categories:
            ecs["category"] = list(categories)
        if types:
            ecs["type"] = list(types)
        if network:
            event["network"] = network
        ecs["kind"] = kind
        source, destination = self._addresses(event, cisco)
        if "duration" in ecs and "@timestamp" in event:
            ecs["end"] = event["@timestamp"]
            ecs["start"] = _flow_start(event["@timestamp"], ecs["duration"])
        observer = event.get("observer")
        if observer is None:
            observer = event["observer"] = {}
        interface = cisco.get("source_interface")
        if interface:
            if "ingress" in observer:
                observer["ingress"]["interface"] = {"name": interface}
            else:
                observer["ingress"] = {"interface": {"name": interface}}
        interface = cisco.get("destination_interface")
        if interface:
            if "egress" in observer:
                observer["egress"]["interface"] = {"name": interface}
            else:
                observer["egress"] = {"interface": {"name": interface}}
        observer["vendor"] = "Cisco"
        observer["product"] = self.product
        observer["type"] = "firewall"
        url = event["url"].get("original") if "url" in event else None
        if isinstance(url, str):
            referenced = event["url"].get("domain")
            apply_url(event, url)
            # FTD's ReferencedHost (host[:port]) and the URL's own host both name the site.
            parsed = event["url"].get("domain")
            if isinstance(referenced, str) and referenced != parsed:
                event["url"]["domain"] = [referenced, parsed] if parsed else referenced
        self._related(event, cisco, source, destination, network)
        event["cisco"] = {self.product: cisco}
        event["tags"] = list(self._tags)

    @staticmethod
    def _addresses(event: Event, cisco: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``.address`` to ``.ip`` (or ``.domain``), then the NAT fields where NAT happened.

        Returns ``source`` and ``destination`` (the read-only ``_NO`` when absent).
        """
        source, destination = event.get("source"), event.get("destination")
        for part in (source, destination, event.get("client"), event.get("server")):
            if not part or "address" not in part:
                continue
            address = part["address"]
            if _is_ip(address):
                part["ip"] = str(address)
            else:
                part.setdefault("domain", address)
        if _MAPPED.isdisjoint(cisco):  # no NAT captured
            return source if source is not None else _NO, destination if destination is not None else _NO
        for side, ip_key, port_key in _MAPPED_KEYS:
            ip, port = cisco.get(ip_key), cisco.get(port_key)
            if ip is None and port is None:
                continue
            part = event.get(side, _NO)
            if ip != part.get("ip") or port != part.get("port"):
                nat: dict[str, Any] = {}
                if ip is not None:
                    nat["ip"] = ip
                if port is not None:
                    nat["port"] = port
                event.setdefault(side, {})["nat"] = nat
        return event.get("source", _NO), event.get("destination", _NO)

    @staticmethod
    def _related(
        event: Event, cisco: dict[str, Any], source: dict[str, Any], destination: dict[str, Any],
        network: dict[str, Any],
    ) -> None:
        """related.* and network.community_id from the sides :meth:`_addresses` returned.

        ``network`` may be a throw-away empty dict (no network fields): community_id then
        has no transport and gives ``None``, so nothing is lost.
        """
        # _NO (a shared, never written empty dict) saves building throw-away dicts per line.
        source_user, destination_user = source.get("user"), destination.get("user")
        source_ip, destination_ip = source.get("ip"), destination.get("ip")
        source_nat, destination_nat = source.get("nat"), destination.get("nat")
        if source_nat is None and destination_nat is None:
            if source_ip or destination_ip:
                # add_related(event, "ip", source_ip, destination_ip), inlined for the
                # usual case: related.ip is new, two addresses (the same one counts once).
                if "related" in event or source_ip in _NO_VALUES or destination_ip in _NO_VALUES:
                    add_related(event, "ip", source_ip, destination_ip)
                else:
                    ips = [source_ip] if source_ip == destination_ip else [source_ip, destination_ip]
                    event["related"] = {"ip": ips}
        else:
            add_related(event, "ip", source_ip, destination_ip, (source_nat or _NO).get("ip"),
                        (destination_nat or _NO).get("ip"))
        user = event.get("user")
        if user is not None or source_user is not None or destination_user is not None:
            source_user, destination_user = source_user or _NO, destination_user or _NO
            users = ((user or _NO).get("name"), source_user.get("name"), destination_user.get("name"))
            if any(users):
                add_related(event, "user", *users)
            hosts: tuple[Any, ...] = (source.get("domain"), destination.get("domain"), source_user.get("domain"),
                                      destination_user.get("domain"))
        else:
            hosts = (source.get("domain"), destination.get("domain"))
        file = event.get("file")
        if file is not None:
            sha256 = file.get("hash", _NO).get("sha256")
            if sha256:
                add_related(event, "hash", *(sha256 if isinstance(sha256, list) else [sha256]))
        if any(hosts):
            add_related(event, "hosts", *hosts)
        transport = network.get("transport")
        if transport is None:
            return  # community_id needs a protocol
        if transport == "icmp" or transport == "ipv6-icmp":
            source_port, destination_port = cisco.get("icmp_type"), cisco.get("icmp_code")
        else:
            source_port, destination_port = source.get("port"), destination.get("port")
        cid = community_id(source_ip, destination_ip, source_port, destination_port,
                           network.get("iana_number", transport))
        if cid is not None:
            network["community_id"] = cid


# One capture slot's assignment: (group index, target number, parent keys, leaf, earlier
# group indexes of the same path). Targets 0 and 1 are the cisco.<product> object and the
# "_x" helper captures (kept under their whole name); the others are top-level event
# sections, numbered per pattern so that apply() finds them by list index.
_Step = tuple[int, int, tuple[str, ...], str, tuple[int, ...]]


class _Plan(NamedTuple):
    """How one message id's pattern writes its captures, precomputed from its grok slots.

    ``apply`` keeps :meth:`GrokPattern.match`'s rules (empty captures left out, the first
    non-empty slot of a path wins, a value that does not fit its type means no fields) and
    the key order the ``{path: value}`` dict gave, since objects are built in slot order.
    """

    fullmatch: Callable[[str], re.Match[str] | None]
    steps: tuple[_Step, ...]
    casts: tuple[tuple[int, Cast, tuple[int, ...]], ...]
    sections: tuple[str, ...]  # event section names by target number (0 and 1 unused)

    @classmethod
    def of(cls, pattern: GrokPattern) -> _Plan:
        sections: dict[str, int] = {"cisco": 0, "_": 1}
        steps: list[_Step] = []
        for slot in pattern.slots:
            path = slot.path
            parts = path.split(".")
            if path[0] == "_":
                steps.append((slot.group, 1, (), path, slot.earlier))
            elif parts[0] == "cisco" and len(parts) > 1:
                steps.append((slot.group, 0, (), path[6:], slot.earlier))
            else:
                target = sections.setdefault(parts[0], len(sections))
                steps.append((slot.group, target, tuple(parts[1:-1]), parts[-1], slot.earlier))
        casts = tuple((slot.group, slot.cast, slot.earlier) for slot in pattern.slots if slot.cast is not None)
        return cls(pattern.regex.fullmatch, tuple(steps), casts, tuple(sections))

    def apply(
        self, event: Event, cisco: dict[str, Any], private: dict[str, Any], groups: tuple[str | Any, ...]
    ) -> None:
        """Write the captures ``groups`` into ``event``, ``cisco`` and ``private``."""
        values: list[Any] | tuple[str | Any, ...] = groups
        if self.casts:
            values = list(groups)
            # Casts first, so that a value that does not fit leaves no fields at all.
            for index, cast, earlier in self.casts:
                value = groups[index]
                if value and not (earlier and any(groups[k] for k in earlier)):
                    try:
                        values[index] = cast(value)
                    except ValueError:
                        return
        names = self.sections
        # Sections are looked up (or created) on their first non-empty capture, so they
        # appear in the event in the order the {path: value} dict gave them.
        targets: list[dict[str, Any] | None] = [None] * len(names)
        targets[0] = cisco
        targets[1] = private
        for index, target, parents, leaf, earlier in self.steps:
            # Emptiness is judged on the text: a cast 0 is still a value.
            if not groups[index] or (earlier and any(groups[k] for k in earlier)):
                continue
            section = targets[target]
            if section is None:
                name = names[target]
                section = event.get(name)
                if section is None:  # a section present is always a dict (never @timestamp/tags)
                    section = event[name] = {}
                targets[target] = section
            if parents:  # "source.user.name": the few deeper paths
                section = ensure_object(section, parents)
            section[leaf] = values[index]


class CiscoFtdParser(CiscoAsaParser):
    """Cisco Firepower Threat Defense: the ASA messages plus security events (430xxx)."""

    id = "cisco.ftd"
    product = "ftd"
    route_signals: ClassVar[tuple[str, ...]] = ("%FTD-",)


def _security_categories(message_id: str, outcome: Any, types: list[str]) -> tuple[list[str], list[str]]:
    if message_id == "430001":
        return ["intrusion_detection"], ["info"]
    if message_id in ("430004", "430005"):
        return ["malware"], ["info"]
    phase = "start" if message_id == "430002" else "end"
    return ["network"], sorted({"connection", phase, *[t for t in types if t in ("allowed", "denied")]})


@lru_cache(maxsize=4096)  # flows end in the same second with the same few durations
def _flow_start(end: str, duration: int) -> str:
    """``event.start`` of a flow that ended at ``end`` (@timestamp text) after ``duration`` ns."""
    ended = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return iso_utc(ended - timedelta(microseconds=duration // 1000))


@lru_cache(maxsize=4096)  # "0:00:30": flow durations repeat
def _hms(text: str) -> int:
    """``h:mm:ss`` as seconds."""
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    return total


_DHMS: Final = re.compile(r"(?:(\d+)d:?)?(?:(\d+)h:?)?(?:(\d+)m:?)?(?:(\d+)s)?")


def _dhms(text: str) -> int | None:
    """``0h:01m:52s`` (VPN session durations) as seconds."""
    m = _DHMS.fullmatch(text.strip())
    if m is None or not any(m.groups()):
        return None
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s
