"""Helpers shared by the firewall and IDS parsers: key=value splitting, number casts,
and the network finishing touches Elastic's pipelines apply to every flow event
(``network.type``, ``network.transport`` from the IANA number, Community ID, byte and
packet totals, ``related.*``).

Kept free of per-vendor knowledge so each vendor module reads as its field tables.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

from parsers.community_id import PROTOCOLS as TRANSPORT_NUMBERS
from parsers.community_id import community_id
from parsers.kv import parse_kv as shared_parse_kv
from soc_core.event import Event, add_related, ensure_object, existing_path, format_timestamp

# The IPv4 "unspecified" address vendors write for "no NAT" (built, not a bind literal).
UNSPECIFIED_V4: Final = str(ipaddress.IPv4Address(0))
IANA_TRANSPORT: Final = {"1": "icmp", "2": "igmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp"}

_TZ_OFFSET: Final = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


# The shared splitter's pattern for our options, as it reads text without backslashes
# (no escapes to honour, so a quoted value is just [^"]*; a test pins the two equal).
KV_PAIR_PLAIN: Final = re.compile(r'([\w\-.]+)=(?:"([^"]*)(?:"|$)|(\S*))', re.S)
# The same for ASCII text, where ``\w`` is exactly [A-Za-z0-9_]: the explicit class skips
# the Unicode lookups, a fifth of the splitter's time on a FortiGate record. Possessive
# quantifiers (``++``, ``*+``) spare the engine its backtracking bookkeeping; they match
# what the greedy ones match here, since no shorter key ends at a ``=`` and the
# quoted/bare values are never followed by anything that could need fewer characters.
KV_PAIR_ASCII: Final = re.compile(r'([A-Za-z0-9_\-.]++)=(?:"([^"]*+)(?:"|$)|(\S*+))', re.S)


def parse_kv(text: str) -> dict[str, str]:
    """``key=value key2="quoted value"`` into a dict, with the project's shared splitter
    (first duplicate wins; empty values kept, so "field present but blank" stays visible).

    A record without backslashes or repeated keys (nearly all) takes an inline copy of
    its fast path with the simpler pattern, saving a third of the time per line."""
    if "\\" not in text:
        pairs = (KV_PAIR_ASCII if text.isascii() else KV_PAIR_PLAIN).findall(text)
        out = {key: quoted or bare for key, quoted, bare in pairs}
        if len(out) == len(pairs):
            return out
    return shared_parse_kv(text, quotes='"', key_chars=r"\w\-.", keep_empty=True)


def strip_pri(text: str) -> tuple[int | None, str]:
    """Remove a leading syslog ``<PRI>``; returns ``(pri, rest)``."""
    if not text.startswith("<"):
        return None, text
    # The regex <(\d{1,3})> with str methods (its \d is exactly str.isdecimal).
    close = text.find(">", 2, 5)
    if close > 0 and text[1:close].isdecimal():
        return int(text[1:close]), text[close + 1:]
    return None, text


def to_int(value: Any) -> int | None:
    """An integer from text, or ``None`` (vendors write ``-``, ``N/A`` or nothing)."""
    if isinstance(value, str):
        if value.isdecimal():
            return int(value)
        v = value.strip()
        if v.lstrip("-").isdecimal():
            return int(v)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def to_float(value: Any) -> float | None:
    """A float from text, or ``None``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=256)
def tz_from_offset(text: str | None) -> tzinfo | None:
    """``-0500`` / ``+09:00`` into a fixed timezone, else ``None`` (cached: a device
    writes the same offset on every record)."""
    if not text:
        return None
    m = _TZ_OFFSET.match(text.strip())
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


@lru_cache(maxsize=1024)
def local_time(text: str, tz: tzinfo) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` or ``YYYY/MM/DD HH:MM:SS`` in ``tz`` (a fast path for the
    fixed layouts firewalls write; ``strptime`` costs more than the rest of a parse).
    Cached: consecutive records mostly share their second."""
    if len(text) != 19 or text[10] not in " T" or text[4] != text[7] or text[4] not in "-/":
        return None
    try:
        return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                        int(text[14:16]), int(text[17:19]), tzinfo=tz)
    except ValueError:
        return None


def iso(dt: datetime) -> str:
    """ECS timestamp text (UTC, ``Z``)."""
    return format_timestamp(dt)


@lru_cache(maxsize=2048)
def _parts(path: str) -> tuple[str, ...]:
    # Paths come from a small fixed vocabulary: splitting once keeps the hot path lean.
    return tuple(path.split("."))


@lru_cache(maxsize=2048)
def _split(path: str) -> tuple[tuple[str, ...], str]:
    # (parents, leaf): the walk to the parent then one store, without slicing per call.
    *parents, leaf = path.split(".")
    return tuple(parents), leaf


def put(event: Event, path: str, value: Any) -> None:
    """Set a dotted path unless the value is empty (vendors write ``""`` for absent)."""
    if value is None or value == "":
        return
    parents, leaf = _split(path)
    ensure_object(event, parents)[leaf] = value


def get(event: Event, path: str) -> Any:
    """The value at a dotted path of a nested event, or ``None``."""
    cur: Any = event
    for part in _parts(path):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
        if cur is None:
            return None
    return cur


def append(event: Event, path: str, *values: str) -> None:
    """Append to a list field without duplicates (ingest ``append`` with
    ``allow_duplicates: false``)."""
    current = get(event, path)
    if current is None:
        current = []
        put(event, path, current)
    for v in values:
        if v not in current:
            current.append(v)


Table = dict[str, tuple[str, str]]
_STR, _INT, _FLOAT, _LOWER = 0, 1, 2, 3
_KINDS: Final = {"str": _STR, "int": _INT, "float": _FLOAT, "lower": _LOWER}
Row = tuple[str, str, tuple[str, ...], str, int]
# table id -> (the table, its rows, vendor key -> row index); holding the table keeps
# its id from being reused by another dict.
_COMPILED: dict[int, tuple[Table, list[Row], dict[str, int]]] = {}


def _compiled(table: Table) -> tuple[list[Row], dict[str, int]]:
    """``table`` as (vendor key, parent path, parent parts, leaf, kind code) rows plus each
    key's row number, built once per table."""
    hit = _COMPILED.get(id(table))
    if hit is not None and hit[0] is table:
        return hit[1], hit[2]
    rows = [(key, path.rpartition(".")[0], *_split(path), _KINDS.get(kind, _STR))
            for key, (path, kind) in table.items()]
    index = {row[0]: i for i, row in enumerate(rows)}
    if len(_COMPILED) < 256:  # module tables only in practice; never grow without bound
        _COMPILED[id(table)] = (table, rows, index)
    return rows, index


def apply_map(event: Event, fields: dict[str, str], table: Table) -> None:
    """Copy vendor fields to ECS paths: ``table[vendor_key] = (ecs_path, kind)`` with
    kind ``str``, ``int``, ``float`` or ``lower``; earlier keys win over later ones for the
    same path (the ingest ``if: ctx.x == null`` fallbacks)."""
    if not table:
        return
    rows, index = _compiled(table)
    if len(rows) > len(fields):
        # A large table and a short record: visit only the rows whose key is present,
        # still in table order (the order decides which key wins a shared path).
        rows = [rows[i] for i in sorted([index[k] for k in fields.keys() & index.keys()])]
    # Parent objects already walked to in this call, by dotted path: within one call
    # parents are only ever created, never replaced, so a found parent stays valid.
    parents_seen: dict[str, dict[str, Any]] = {}
    for key, parent, parents, leaf, kind in rows:
        raw = fields.get(key)
        if not raw:
            continue
        value: Any = raw
        if kind:
            if kind == _INT:
                value = to_int(raw)
                if value is None:
                    continue
            elif kind == _FLOAT:
                value = to_float(raw)
                if value is None:
                    continue
            else:
                value = raw.lower()
        cur = parents_seen.get(parent)
        if cur is None:
            cur = existing_path(event, parents)
            if cur is None:
                continue  # a value in the way: the earlier writer wins
            parents_seen[parent] = cur
        if leaf not in cur:
            cur[leaf] = value


def finish_network(event: Event, community: bool = True, nat_related: bool = False) -> None:
    """What the Elastic pipelines add to every flow: transport from the IANA number,
    ``network.type``, byte/packet totals, Community ID and ``related.ip``/``user``/``hosts``."""
    net = event.get("network") or {}
    src = event.get("source") or {}
    dst = event.get("destination") or {}
    iana = net.get("iana_number")
    if iana is not None and "transport" not in net:
        transport = IANA_TRANSPORT.get(str(iana))
        if transport:
            put(event, "network.transport", transport)
    sip, dip = src.get("ip"), dst.get("ip")
    if "type" not in net:
        if (isinstance(sip, str) and ":" in sip) or (isinstance(dip, str) and ":" in dip):
            put(event, "network.type", "ipv6")
        elif (isinstance(sip, str) and "." in sip) or (isinstance(dip, str) and "." in dip):
            put(event, "network.type", "ipv4")
    for what in ("bytes", "packets"):
        a, b = src.get(what), dst.get(what)
        if isinstance(a, int) and isinstance(b, int) and what not in net:
            put(event, f"network.{what}", a + b)
    if community and sip and dip and "community_id" not in (event.get("network") or {}):
        set_community_id(event)
    add_related(event, "ip", sip, dip)
    for side in (src, dst) if nat_related else ():
        nat = side.get("nat")
        if isinstance(nat, dict):
            add_related(event, "ip", nat.get("ip"))
    if not event.get("related", {}).get("ip"):
        event.get("related", {}).pop("ip", None)


def set_community_id(event: Event) -> None:
    """``network.community_id`` from source/destination and transport, when computable."""
    net = event.get("network") or {}
    src = event.get("source") or {}
    dst = event.get("destination") or {}
    proto: int | None = None
    transport = net.get("transport")
    if isinstance(transport, str):
        proto = TRANSPORT_NUMBERS.get(transport.lower())
    if proto is None:
        proto = to_int(net.get("iana_number"))
    sip, dip = src.get("ip"), dst.get("ip")
    if proto is None or not isinstance(sip, str) or not isinstance(dip, str):
        return
    cid = flow_community_id(event, src, dst, sip, dip, proto)
    if cid:
        put(event, "network.community_id", cid)


def flow_community_id(event: Event, src: Mapping[str, Any], dst: Mapping[str, Any], sip: str, dip: str,
                      proto: int) -> str | None:
    """The Community ID of a flow event: ports from ``source``/``destination``, or for ICMP
    the type and code from ``icmp.*`` (0 when absent, as Elastic's processor hashes them)."""
    if proto in (1, 58):
        icmp = event.get("icmp") or {}
        return community_id(sip, dip, to_int(icmp.get("type")) or 0, to_int(icmp.get("code")) or 0, proto)
    return community_id(sip, dip, to_int(src.get("port")), to_int(dst.get("port")), proto)


def ports_community_id(sip: str, dip: str, sport: Any, dport: Any, proto: int) -> str | None:
    """:func:`flow_community_id` for parsers whose tables write ports as ints and fill no
    ``icmp.*``: an ICMP flow then hashes its type and code as 0."""
    if proto == 1 or proto == 58:
        return community_id(sip, dip, 0, 0, proto)
    return community_id(sip, dip, sport, dport, proto)


def dig(obj: Any, *keys: str) -> Any:
    """:func:`get` with the path already split (no cache lookup on the hot path)."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
        if obj is None:
            return None
    return obj


def finish_related(event: Event) -> None:
    """``related.user``/``related.hosts`` from the usual places, empty buckets removed."""
    source, destination = event.get("source"), event.get("destination")
    add_related(event, "user", dig(source, "user", "name"), dig(destination, "user", "name"),
                dig(event, "user", "name"))
    hosts = [value for value in (
        dig(source, "address"), dig(destination, "address"), dig(source, "domain"),
        dig(destination, "domain"), dig(event, "host", "hostname"),
        dig(event, "dns", "question", "name"),
    ) if value and not looks_ip(value)]
    if hosts:
        add_related(event, "hosts", *hosts)
    related = event.get("related")
    if isinstance(related, dict):
        for k in [k for k, v in related.items() if not v]:
            del related[k]
        if not related:
            del event["related"]


def looks_ip(value: Any) -> bool:
    """True for an IPv4 dotted quad or anything with a colon (IPv6): not a host name."""
    return isinstance(value, str) and (
        (value.count(".") == 3 and value.replace(".", "").isdecimal()) or ":" in value)


def uri_parts(event: Event, url: str) -> None:
    """``url.*`` from a URL or path, as the ingest ``uri_parts`` processor splits it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return
    path = parts.path
    last = path.rsplit("/", 1)[-1]
    # The fields in the order put() would write them, blanks skipped as put skips them;
    # stored with one update instead of a dotted-path walk per field.
    fields = [(name, value) for name, value in (
        ("original", url), ("scheme", parts.scheme), ("domain", parts.hostname), ("port", port),
        ("path", path), ("query", parts.query), ("fragment", parts.fragment),
        ("username", parts.username), ("password", parts.password),
        ("extension", last.rsplit(".", 1)[1] if "." in last else None),
    ) if value is not None and value != ""]
    if fields:
        obj = event.get("url")
        if not isinstance(obj, dict):
            obj = event["url"] = {}  # what put's ensure_object does
        obj.update(fields)


class ParentSlots:
    """Numbers the parent objects of a field table's ECS paths, for parsers that write a
    record's fields by (parent slot, leaf): slot 0 is the event itself, and ``links[n]``
    is slot n's own (parent slot, key), so a record finds or creates each parent object
    once, from its already found parent, instead of walking the dotted path per field."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, ...], int] = {(): 0}
        self.links: list[tuple[int, str]] = [(0, "")]  # the root's entry is never read

    def slot_of(self, parents: tuple[str, ...]) -> int:
        slot = self._slots.get(parents)
        if slot is None:
            parent = self.slot_of(parents[:-1])
            slot = self._slots[parents] = len(self.links)
            self.links.append((parent, parents[-1]))
        return slot

    def check_leaves(self, leaves: set[tuple[str, ...]]) -> None:
        """Refuse a table whose field path is also a parent: a leaf written over a parent
        object would leave a found parent stale."""
        if leaves & self._slots.keys():
            raise ValueError(f"a field's path is also a parent: {leaves & self._slots.keys()}")
