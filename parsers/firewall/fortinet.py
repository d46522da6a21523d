"""FortiGate (FortiOS) syslog in key=value form to ECS: dataset ``fortinet.firewall``.

Field tables follow Elastic's Filebeat ``fortinet/firewall`` module: one table per log
``type`` (traffic, event, utm/dns), then the fields common to all types.

The tables are compiled once at import into rows with the ECS path already split, and a
record visits only the rows of the keys it carries (a FortiGate record holds about 30 of
the 40-odd keys a table knows); which rows those are, in table order, is worked out once
per key layout (records of one type and subtype carry the same keys), not per record.
The network and ``related.*`` finishing reads the objects the tables just built once,
instead of walking dotted paths per field: this parser sits on the hot path of every
FortiGate deployment.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from parsers.base import BaseParser
from parsers.community_id import PROTOCOLS as TRANSPORT_NUMBERS
from parsers.firewall._common import (
    IANA_TRANSPORT,
    ParentSlots,
    get,
    iso,
    local_time,
    looks_ip,
    parse_kv,
    ports_community_id,
    put,
    strip_pri,
    to_int,
    tz_from_offset,
    uri_parts,
)
from parsers.web.ecs import set_user_agent
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, format_timestamp

Table = dict[str, tuple[str, str]]

TRAFFIC: Final[Table] = {
    "dstip": ("destination.ip", "str"),
    "tranip": ("destination.nat.ip", "str"),
    "dstport": ("destination.port", "int"),
    "tranport": ("destination.nat.port", "int"),
    "rcvdbyte": ("destination.bytes", "int"),
    "rcvdpkt": ("destination.packets", "int"),
    "dstcollectedemail": ("destination.user.email", "str"),
    "dstname": ("destination.address", "str"),
    "dstunauthuser": ("destination.user.name", "str"),
    "group": ("source.user.group.name", "str"),
    "sentbyte": ("source.bytes", "int"),
    "srcdomain": ("source.domain", "str"),
    "srcip": ("source.ip", "str"),
    "srcmac": ("source.mac", "str"),
    "srcport": ("source.port", "int"),
    "unauthuser": ("source.user.name", "str"),
    "user": ("source.user.name", "str"),
    "collectedemail": ("source.user.email", "str"),
    "sentpkt": ("source.packets", "int"),
    "transip": ("source.nat.ip", "str"),
    "transport": ("source.nat.port", "int"),
    "app": ("network.application", "str"),
    "filename": ("file.name", "str"),
    "logid": ("event.code", "str"),
    "comment": ("rule.description", "str"),
    "policyid": ("rule.id", "str"),
    "poluuid": ("rule.uuid", "str"),
    "policytype": ("rule.ruleset", "str"),
    "policyname": ("rule.name", "str"),
    "appcat": ("rule.category", "str"),
    "url": ("url.path", "str"),
}

EVENT: Final[Table] = {
    "dstip": ("destination.ip", "str"),
    "remip": ("destination.ip", "str"),
    "dstport": ("destination.port", "int"),
    "remport": ("destination.port", "int"),
    "rcvdbyte": ("destination.bytes", "int"),
    "daddr": ("destination.address", "str"),
    "dst_host": ("destination.address", "str"),
    "group": ("source.user.group.name", "str"),
    "sentbyte": ("source.bytes", "int"),
    "srcip": ("source.ip", "str"),
    "locip": ("source.ip", "str"),
    "srcmac": ("source.mac", "str"),
    "source_mac": ("source.mac", "str"),
    "srcport": ("source.port", "int"),
    "locport": ("source.port", "int"),
    "user": ("source.user.name", "str"),
    "saddr": ("source.address", "str"),
    "agent": ("user_agent.original", "str"),
    "file": ("file.name", "str"),
    "filesize": ("file.size", "int"),
    "logid": ("event.code", "str"),
    "policyid": ("rule.id", "str"),
    "error_num": ("error.code", "str"),
    "hostname": ("url.domain", "str"),
    "logdesc": ("rule.description", "str"),
    "url": ("url.path", "str"),
    "sess_duration": ("event.duration", "int"),
}

UTM: Final[Table] = {
    "dstip": ("destination.ip", "str"),
    "remip": ("destination.ip", "str"),
    "dst_port": ("destination.port", "int"),
    "remport": ("destination.port", "int"),
    "dstport": ("destination.port", "int"),
    "rcvdbyte": ("destination.bytes", "int"),
    "recipient": ("destination.user.email", "str"),
    "locip": ("source.ip", "str"),
    "locport": ("source.port", "int"),
    "src_port": ("source.port", "int"),
    "srcport": ("source.port", "int"),
    "sentbyte": ("source.bytes", "int"),
    "srcdomain": ("source.domain", "str"),
    "srcip": ("source.ip", "str"),
    "srcmac": ("source.mac", "str"),
    "unauthuser": ("source.user.name", "str"),
    "user": ("source.user.name", "str"),
    "sender": ("source.user.email", "str"),
    "from": ("source.user.email", "str"),
    "app": ("network.application", "str"),
    "appcat": ("rule.category", "str"),
    "applist": ("rule.ruleset", "str"),
    "catdesc": ("rule.category", "str"),
    "error": ("event.message", "str"),
    "errorcode": ("event.code", "str"),
    "filename": ("file.name", "str"),
    "filesize": ("file.size", "int"),
    "filetype": ("file.extension", "str"),
    "infectedfilename": ("file.name", "str"),
    "infectedfilesize": ("file.size", "int"),
    "infectedfiletype": ("file.extension", "str"),
    "matchedfilename": ("file.name", "str"),
    "matchedfiletype": ("file.extension", "str"),
    "logid": ("event.code", "str"),
    "policy_id": ("rule.id", "str"),
    "policyid": ("rule.id", "str"),
    "profile": ("rule.ruleset", "str"),
    "qclass": ("dns.question.class", "str"),
    "qname": ("dns.question.name", "str"),
    "qtype": ("dns.question.type", "str"),
    "xid": ("dns.id", "str"),
    "scertcname": ("tls.server.x509.subject.common_name", "str"),
    "scertissuer": ("tls.server.issuer", "str"),
    "ccertissuer": ("tls.client.issuer", "str"),
    "dtype": ("vulnerability.category", "str"),
    "ref": ("event.reference", "str"),
}

COMMON: Final[Table] = {
    "devname": ("observer.name", "str"),
    "devid": ("observer.serial_number", "str"),
    "device_id": ("observer.serial_number", "str"),
    "dstintf": ("observer.egress.interface.name", "str"),
    "srcintf": ("observer.ingress.interface.name", "str"),
    "dst_int": ("observer.egress.interface.name", "str"),
    "src_int": ("observer.ingress.interface.name", "str"),
    "level": ("log.level", "str"),
    "reason": ("event.reason", "str"),
    "msg": ("message", "str"),
    "proto": ("network.iana_number", "str"),
    "group": ("source.user.group.name", "str"),
    "service": ("network.protocol", "lower"),
}

# Fields consumed into ECS and not repeated under fortinet.firewall (as the module does).
_DROP: Final = frozenset(
    {"date", "time", "tz", "eventtime", "duration", "hostname", "agent", "url", "devid",
     "devname", "dstintf", "srcintf", "level", "reason", "msg", "proto", "service", "group",
     "dstip", "srcip", "dstport", "srcport", "sentbyte", "rcvdbyte", "sentpkt", "rcvdpkt",
     "logid", "policyid", "poluuid", "policytype", "policyname", "appcat", "app", "user",
     "transip", "transport", "tranip", "tranport", "remip", "locip", "remport", "locport",
     "qname", "qtype", "qclass", "xid", "ipaddr", "dir", "direction", "filename", "filesize",
     "filetype", "logdesc", "profile", "catdesc", "srcmac", "ref", "dtype",
     "scertcname", "scertissuer"})
# Vendor fields Elastic keeps under fortinet.firewall besides moving them to ECS (never
# in _DROP, which a test checks).
_KEEP: Final = frozenset({"action", "subtype", "type", "sessionid"})
# Values FortiOS writes for "no value": such fields count as absent.
_ABSENT: Final = ("N/A", "undefined")
_SPLIT_TIME: Final = re.compile(r"\btime=(\d{1,2}:\s?\d{2}:\d{2})")
_ALLOWED: Final = frozenset({"pass", "passthrough", "exempt"})
_DENIED: Final = frozenset({"block", "blocked", "deny", "close", "server-rst", "dropped"})
_DIRECTION: Final = {"outgoing": "outbound", "incoming": "inbound"}
_LOGON: Final = ("FSSO-logon", "auth-logon")
_LOGOFF: Final = ("FSSO-logoff", "auth-logout")
_BLANK: Final = (None, "", "-")
_NOTHING: Final[Mapping[str, Any]] = MappingProxyType({})
# Epoch seconds below 2**33 (year 2242): there a float of milliseconds / 1000 is within
# half a microsecond of the exact value, so datetime rounds it to the exact millisecond.
_EXACT_MS_SECONDS: Final = 2**33
_EXACT_MS: Final = _EXACT_MS_SECONDS * 1000

# A compiled table row: (table order, vendor key, parent slot, leaf, kind code). The
# order comes first so that sorting the rows of a record's keys puts them back in table
# order; a step is a row without it, as a record's plan lists them.
Row = tuple[int, str, int, str, int]
Step = tuple[str, int, str, int]
_STR, _INT, _LOWER = 0, 1, 2
_KINDS: Final = {"str": _STR, "int": _INT, "lower": _LOWER}
# Distinct key layouts remembered: a device writes a few dozen (one per log type and
# subtype); the cap only guards against a stream of ever-new layouts.
_LAYOUTS_MAX: Final = 512


class _Compiled:
    """Field tables, applied one after the other, compiled once: each vendor key's row,
    with its parent object numbered (see :class:`ParentSlots`)."""

    __slots__ = ("links", "rows")

    def __init__(self, *tables: Table) -> None:
        rows: dict[str, Row] = {}
        seen: Table = {}
        slots = ParentSlots()
        for table in tables:
            for key, (path, kind) in table.items():
                if key in seen:
                    # A later table's row for the same key could only lose to the first.
                    if seen[key] != (path, kind):
                        raise ValueError(f"{key!r} maps to two paths")
                    continue
                seen[key] = (path, kind)
                *parents, leaf = path.split(".")
                rows[key] = (len(rows), key, slots.slot_of(tuple(parents)), leaf, _KINDS[kind])
        slots.check_leaves({tuple(path.split(".")) for path, _ in seen.values()})
        self.rows: Final = rows
        self.links: Final = tuple(slots.links)

    def plan(self, keys: Iterable[str]) -> tuple[Step, ...]:
        """The steps for a record with these keys, in table order."""
        rows = self.rows
        return tuple(row[1:] for row in sorted(rows[key] for key in keys if key in rows))


class _Layout:
    """What depends only on a record's keys, in their order: the vendor fields kept under
    ``fortinet.firewall`` and, per compiled table, the steps of its keys. Records of one
    type and subtype carry the same keys in the same order, so this is worked out once
    per layout (:func:`_layout`) rather than once per record (a set intersection and a
    sort per table, a filtered copy of every field)."""

    __slots__ = ("keys", "plans", "vendor")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys: Final = keys
        self.vendor: Final = tuple(key for key in keys if key not in _DROP)
        self.plans: Final[dict[_Compiled, tuple[Step, ...]]] = {}

    def plan(self, table: _Compiled) -> tuple[Step, ...]:
        plan = self.plans.get(table)
        if plan is None:
            plan = self.plans[table] = table.plan(self.keys)
        return plan


_LAYOUTS: Final[dict[tuple[str, ...], _Layout]] = {}


def _layout(keys: tuple[str, ...]) -> _Layout:
    """The (cached) layout of a record's keys."""
    layout = _LAYOUTS.get(keys)
    if layout is None:
        layout = _Layout(keys)
        if len(_LAYOUTS) < _LAYOUTS_MAX:
            _LAYOUTS[keys] = layout
    return layout


def _apply(event: Event, kv: dict[str, str], table: _Compiled,
           layout: _Layout | None = None) -> None:
    """Copy the record's fields to their ECS paths, in table order (earlier rows win a
    shared path, as the ingest ``if: ctx.x == null`` fallbacks do; the order also decides
    the key order of the document). Empty values and failed number casts are skipped.
    ``layout`` is the layout of ``kv``'s keys when the caller has it already."""
    links = table.links
    # Parent objects found in this call, by slot: within one call parents are only ever
    # created, never replaced, so a found parent stays valid.
    found: list[dict[str, Any] | None] = [None] * len(links)
    found[0] = event
    for key, slot, leaf, kind in (table.plan(kv) if layout is None else layout.plan(table)):
        raw = kv[key]
        if not raw:
            continue
        value: Any = raw
        if kind:
            if kind == _INT:
                value = int(raw) if raw.isdecimal() else to_int(raw)
                if value is None:
                    continue
            else:
                value = raw.lower()
        cur = found[slot]
        if cur is None:
            # Inline for the usual case, the parent already found (_found otherwise).
            parent_slot, name = links[slot]
            parent = found[parent_slot]
            if parent is None:
                cur = _found(found, links, slot)
            else:
                cur = parent.get(name)
                if cur is None:
                    cur = parent[name] = {}
                elif not isinstance(cur, dict):
                    cur = None
                found[slot] = cur
            if cur is None:
                continue  # a value in the way skips the row
        if leaf not in cur:
            cur[leaf] = value


def _found(found: list[dict[str, Any] | None], links: tuple[tuple[int, str], ...],
           slot: int) -> dict[str, Any] | None:
    """The object of ``slot``, from its parent's (found first when needed), created empty
    when missing and remembered for the rest of the record; ``None`` when a value that is
    not an object is in the way (what ``existing_path`` returns then)."""
    parent_slot, key = links[slot]
    parent = found[parent_slot]
    if parent is None:
        parent = _found(found, links, parent_slot)
        if parent is None:
            return None
    obj = parent.get(key)
    if obj is None:
        obj = parent[key] = {}
    elif not isinstance(obj, dict):
        return None
    found[slot] = obj
    return obj


# Each type's table joined with COMMON, walked once (COMMON's rows after the type's:
# earlier rows still win). UTM records get the TLS/DNS/hash extras between the two
# tables; see _extras_add_objects for when that order shows in the document.
_COMMON: Final = _Compiled(COMMON)
_UTM: Final = _Compiled(UTM)
_UTM_COMMON: Final = _Compiled(UTM, COMMON)
_TYPE_TABLES: Final = {"traffic": _Compiled(TRAFFIC, COMMON), "event": _Compiled(EVENT, COMMON),
                       "utm": _UTM_COMMON, "dns": _UTM_COMMON}
_DNS_KEYS: Final = tuple(key for key, (path, _) in UTM.items() if path.startswith("dns."))


def _extras_add_objects(kv: dict[str, str]) -> bool:
    """Whether the UTM extras start top-level objects (``dns`` for resolved addresses
    when no question field made it, ``fortinet`` and ``related`` for a file hash). Then
    they must run before COMMON, which may start ``message``, ``network`` or ``source``;
    otherwise the two touch disjoint objects and their order does not show."""
    if kv.get("filehash"):
        return True
    return bool(kv.get("ipaddr")) and not any(kv.get(key) for key in _DNS_KEYS)


@lru_cache(maxsize=64)
def _direction(text: str) -> str:
    """``network.direction`` for a ``dir``/``direction`` value (cached: a few words)."""
    return _DIRECTION.get(text.lower(), text.lower())


@lru_cache(maxsize=1024)
def _stamp(date: str, time: str, tz: tzinfo) -> str | None:
    """``@timestamp`` text for a local date and time (cached: records share a second)."""
    local = local_time(f"{date} {time}", tz)
    return None if local is None else iso(local)


@lru_cache(maxsize=1024)
def _epoch_second(seconds: int) -> str:
    """``2020-04-18T17:32:48.`` for epoch seconds (cached: records share a second)."""
    return format_timestamp(datetime.fromtimestamp(seconds, UTC))[:-4]


def _append(values: list[str], *new: str) -> None:
    # The ingest ``append`` with ``allow_duplicates: false``.
    for value in new:
        if value not in values:
            values.append(value)


class FortinetFirewallParser(BaseParser):
    """FortiGate traffic, event and UTM logs (``date=... devid="FG..." type="traffic"``)."""

    id = "fortinet.firewall"
    syslog_programs: tuple[str, ...] = ()
    route_signals: tuple[str, ...] = ('devid="FG', "devid=FG", "logid=")
    json_keys: tuple[str, ...] = ()

    def accepts(self, raw: RawEvent) -> bool:
        msg = raw.message
        # " type=" with its space: Sophos writes "log_type=" and "device_id=" too. Some
        # FortiOS records carry no devid= at all, only logid= (Sophos writes "log_id=").
        return (("devid=" in msg or "device_id=" in msg or "logid=" in msg)
                and " type=" in msg and "date=" in msg)

    def parse(self, raw: RawEvent) -> Event:
        _, body = strip_pri(raw.message.lstrip())
        if "\x00" in body:
            # Some FortiOS builds pad records with NUL bytes; they are not content.
            body = body.replace("\x00", "")
        kv = parse_kv(body)
        if "N/A" in body or "undefined" in body:  # no such value can hide elsewhere
            values = kv.values()
            if "N/A" in values or "undefined" in values:
                for key in [k for k, v in kv.items() if v in _ABSENT]:
                    del kv[key]
        # After the N/A values are gone: "type=N/A" is as missing as no type at all.
        if "type" not in kv or "date" not in kv or "time" not in kv:
            raise ParseError(self.id, "not a FortiGate key=value log (type/date/time missing)")
        layout = _layout(tuple(kv))
        event = self.new_event(raw)
        ev: dict[str, Any] = event["event"]
        self._timestamps(event, ev, kv, body)
        event["observer"] = {"vendor": "Fortinet", "product": "Fortigate", "type": "firewall"}
        kind = kv["type"]
        action = kv.get("action")
        subtype = kv.get("subtype")
        if kind == "traffic":
            self._traffic(ev, kv, action)
        elif kind == "event":
            self._event(ev, kv, action, subtype)
        elif kind in ("utm", "dns"):
            self._utm(ev, kv, action, subtype)
        table = _TYPE_TABLES.get(kind)
        if table is None:
            _apply(event, kv, _COMMON, layout)
        elif kind == "traffic" or kind == "event":
            _apply(event, kv, table, layout)  # COMMON included
        elif _extras_add_objects(kv):
            _apply(event, kv, _UTM, layout)
            self._utm_extras(event, kv)
            _apply(event, kv, _COMMON, layout)
        else:
            _apply(event, kv, table, layout)  # COMMON included
            self._utm_extras(event, kv)
        rule = event.get("rule")
        if rule is not None:
            category = rule.get("category")
            if isinstance(category, str):
                rule["category"] = category.replace(".", "-")
        direction = kv.get("dir") or kv.get("direction")
        if direction and kind != "traffic":
            network = event.get("network")
            if not isinstance(network, dict):
                network = event["network"] = {}  # what put's ensure_object does
            network["direction"] = _direction(direction)
        url = kv.get("url")
        if url and kind != "traffic" and kind != "event":
            uri_parts(event, url)
        if kv.get("hostname") and get(event, "url.domain") is None:
            put(event, "url.domain", kv["hostname"])
        if kv.get("agent") and kind != "event":
            set_user_agent(event, kv["agent"])
        if kv.get("duration") and (d := to_int(kv["duration"])) is not None:
            ev["duration"] = d * 1_000_000_000
        _finish(event)
        vendor = {key: kv[key] for key in layout.vendor}
        # _KEEP's fields are never in _DROP, so this copy already holds them, in order.
        fortinet = event.get("fortinet")
        if isinstance(fortinet, dict):
            fortinet["firewall"] = vendor
        else:
            event["fortinet"] = {"firewall": vendor}
        return event

    def _timestamps(self, event: Event, ev: dict[str, Any], kv: dict[str, str],
                    raw_text: str) -> None:
        tz_text = kv.get("tz")
        tz = tz_from_offset(tz_text) or self.options.tz
        if len(kv["time"]) < 8:
            # FortiOS 4 writes "time=10: 13:03"; rebuild the stamp from the raw text.
            m = _SPLIT_TIME.search(raw_text)
            if m:
                kv["time"] = m.group(1).replace(" ", "")
        stamp = _stamp(kv["date"], kv["time"], tz)
        if stamp is None:
            raise ParseError(self.id, f"bad date/time {kv['date']!r} {kv['time']!r}")
        event["@timestamp"] = stamp
        if tz_text:
            ev["timezone"] = tz_text
        et = kv.get("eventtime", "")
        if et.isdecimal():
            # FortiOS writes seconds, milliseconds or nanoseconds since the epoch.
            if len(et) > 18:
                et = et[:-6]
            ms = int(et) if len(et) > 11 else int(et) * 1000
            if ms < _EXACT_MS:
                # The stamp of the whole second (cached) and the milliseconds: what
                # iso(fromtimestamp(ms / 1000)) gives, without a datetime per record.
                whole, rest = divmod(ms, 1000)
                ev["start"] = f"{_epoch_second(whole)}{rest:03d}Z"
            else:
                seconds = ms / 1000 if len(et) > 11 else ms // 1000
                with contextlib.suppress(OverflowError, OSError, ValueError):
                    ev["start"] = iso(datetime.fromtimestamp(seconds, UTC))

    @staticmethod
    def _traffic(ev: dict[str, Any], kv: dict[str, str], action: str | None) -> None:
        ev["kind"] = "event"
        ev["category"] = ["network"]
        types = ["connection"]
        if action is not None:
            if action:
                ev["action"] = action
            ev["outcome"] = "success"
            types.append("start" if action == "start" else "end")
        utm_action = kv.get("utmaction")
        if kv.get("app") and action != "deny":
            types.append("protocol")
        if utm_action is None and action != "deny":
            types.append("allowed")
        if utm_action == "block" or action == "deny":
            types.append("denied")
        ev["type"] = types

    @staticmethod
    def _event(ev: dict[str, Any], kv: dict[str, str], action: str | None,
               subtype: str | None) -> None:
        ev["kind"] = "event"
        if action:
            ev["action"] = action
        result, status = kv.get("result"), kv.get("status")
        if result == "ERROR" or status == "negotiate_error":
            ev["outcome"] = "failure"
        elif result == "OK" or action in _LOGON or action in _LOGOFF:
            ev["outcome"] = "success"
        types: list[str] = []
        categories: list[str] = []
        if action in _LOGON:
            _append(types, "user", "start")
        if action in _LOGOFF:
            _append(types, "user", "end")
        if subtype == "vpn":
            _append(types, "connection")
            _append(categories, "network")
        if action == "perf-stats":
            _append(types, "info")
            _append(categories, "host")
        if subtype == "update":
            _append(types, "info")
            _append(categories, "host", "malware")
        if subtype == "user":
            _append(categories, "authentication")
        # Every branch above that adds a category adds a type first, or is the last one:
        # event.type is created before event.category whenever both exist.
        if types:
            ev["type"] = types
        if categories:
            ev["category"] = categories

    @staticmethod
    def _utm(ev: dict[str, Any], kv: dict[str, str], action: str | None,
             subtype: str | None) -> None:
        alert = subtype in ("virus", "ips") or "attack" in kv
        ev["kind"] = "alert" if alert else "event"
        types: list[str] = []
        if action:
            ev["action"] = action
            ev["outcome"] = "success"
            if action in _ALLOWED:
                types.append("allowed")
            if action in _DENIED:
                types.append("denied")
        if subtype == "dns":
            types.append("info")
        if types:
            ev["type"] = types
        ev["category"] = (["network", "intrusion_detection"] if subtype == "ips"
                          else ["network"])

    @staticmethod
    def _utm_extras(event: Event, kv: dict[str, str]) -> None:
        tls = event.get("tls")
        if tls is not None:
            issuer = get(tls, "server.issuer")
            if issuer:
                put(event, "tls.server.x509.issuer.common_name", issuer)
            client_issuer = get(tls, "client.issuer")
            if client_issuer:
                put(event, "tls.client.x509.issuer.common_name", client_issuer)
        if kv.get("ipaddr"):
            put(event, "dns.resolved_ip", kv["ipaddr"].split(", "))
        if kv.get("filehash"):
            put(event, "fortinet.file.hash.crc32", kv["filehash"])
            add_related(event, "hash", kv["filehash"])


def _finish(event: Event) -> None:
    """What the Elastic pipeline adds to every flow (``network.transport`` from the IANA
    number, ``network.type``, byte/packet totals, Community ID) and ``related.*``: the
    shared ``finish_network`` and ``finish_related``, reading the objects the tables built
    once. The tables write addresses and the IANA number as text and ports, bytes and
    packets as ints (what the shared code's ``to_int`` calls return for them), no table
    fills ``icmp.*`` (an ICMP type and code hash as 0), and nothing before this point
    fills ``related`` but a file hash."""
    src: Mapping[str, Any] = event.get("source") or _NOTHING
    dst: Mapping[str, Any] = event.get("destination") or _NOTHING
    sip, dip = src.get("ip"), dst.get("ip")
    net: dict[str, Any] | None = event.get("network")
    attach = net is None
    if net is None:
        net = {}  # attached only once something is set
    iana = net.get("iana_number")
    if iana is not None and "transport" not in net:
        transport = IANA_TRANSPORT.get(str(iana))
        if transport:
            net["transport"] = transport
    if "type" not in net:
        if (isinstance(sip, str) and ":" in sip) or (isinstance(dip, str) and ":" in dip):
            net["type"] = "ipv6"
        elif (isinstance(sip, str) and "." in sip) or (isinstance(dip, str) and "." in dip):
            net["type"] = "ipv4"
    a, b = src.get("bytes"), dst.get("bytes")
    if isinstance(a, int) and isinstance(b, int) and "bytes" not in net:
        net["bytes"] = a + b
    a, b = src.get("packets"), dst.get("packets")
    if isinstance(a, int) and isinstance(b, int) and "packets" not in net:
        net["packets"] = a + b
    if isinstance(sip, str) and isinstance(dip, str) and sip and dip and "community_id" not in net:
        transport = net.get("transport")
        proto = TRANSPORT_NUMBERS.get(transport.lower()) if isinstance(transport, str) else None
        if proto is None:
            proto = to_int(net.get("iana_number"))
        if proto is not None:
            cid = ports_community_id(sip, dip, src.get("port"), dst.get("port"), proto)
            if cid:
                net["community_id"] = cid
    if attach and net:
        event["network"] = net
    dns: Mapping[str, Any] = event.get("dns") or _NOTHING
    resolved = dns.get("resolved_ip")
    if resolved:
        ips = _fresh((sip, dip, *resolved))
    else:
        # _fresh((sip, dip)) written out: the two addresses of nearly every record.
        ips = [] if sip in _BLANK else [sip]
        if dip not in _BLANK and dip != sip:
            ips.append(dip)
    src_user, dst_user = src.get("user"), dst.get("user")
    user = event.get("user")
    users = _fresh((
        src_user.get("name") if src_user is not None else None,
        dst_user.get("name") if dst_user is not None else None,
        user.get("name") if user is not None else None,
    )) if src_user is not None or dst_user is not None or user is not None else []
    host, question = event.get("host"), dns.get("question")
    candidates = (src.get("address"), dst.get("address"), src.get("domain"),
                  dst.get("domain"), host.get("hostname") if host is not None else None,
                  question.get("name") if question is not None else None)
    hosts = _fresh([value for value in candidates if value and not looks_ip(value)]
                   ) if any(candidates) else []
    if ips or users or hosts:
        related: dict[str, list[Any]] | None = event.get("related")
        if related is None:
            related = event["related"] = {}
        if ips:
            related["ip"] = ips
        if users:
            related["user"] = users
        if hosts:
            related["hosts"] = hosts


def _fresh(values: Iterable[Any]) -> list[Any]:
    # add_related's filter: no blanks or "-", each value once, in order.
    out: list[Any] = []
    for value in values:
        if value not in _BLANK and value not in out:
            out.append(value)
    return out
