"""Indicators as store records: types, canonical values, TLP 2.0, merge across sources, aging.

An indicator record (kind ``indicators`` in :meth:`soc_core.contracts.Store.records`) is
one observable, whoever reported it: its id derives from its type and canonical value, so
the same domain from two feeds is one record with two entries under ``sources``. The
record's confidence is the highest any source gives, its TLP the most restrictive (what
may leave must be allowed by every source that told us), first/last seen the widest span,
and it expires at the latest ``valid_until`` of its sources.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from soc_core.errors import IntelError
from soc_core.event import format_timestamp, parse_timestamp

IPV4: Final = "ipv4-addr"
IPV6: Final = "ipv6-addr"
DOMAIN: Final = "domain-name"
URL: Final = "url"
EMAIL: Final = "email-addr"
MD5: Final = "file:hashes.MD5"
SHA1: Final = "file:hashes.SHA-1"
SHA256: Final = "file:hashes.SHA-256"
PATTERN: Final = "stix-pattern"  # kept but not matchable (compound or unsupported patterns)
TYPES: Final = (IPV4, IPV6, DOMAIN, URL, EMAIL, MD5, SHA1, SHA256)
HASH_LENGTHS: Final = {MD5: 32, SHA1: 40, SHA256: 64}

# TLP 2.0 (FIRST), least to most restrictive.
TLP_LEVELS: Final = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
_TLP_ALIASES: Final = {"WHITE": "CLEAR"}  # TLP 1.0's WHITE is 2.0's CLEAR

# How long an indicator stays active after it was last seen when its source gives no
# expiry: addresses change hands quickly, names and URLs less so, a file hash never does
# but old ones only cost memory.
DEFAULT_TTL: Final = {
    IPV4: timedelta(days=30), IPV6: timedelta(days=30), DOMAIN: timedelta(days=90), URL: timedelta(days=90),
    EMAIL: timedelta(days=90), MD5: timedelta(days=365), SHA1: timedelta(days=365), SHA256: timedelta(days=365),
}

_DOMAIN_RE: Final = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$")
_EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+$")
_HEX_RE: Final = re.compile(r"^[0-9a-f]+$")


def tlp_level(text: str) -> str:
    """A TLP name (``amber+strict``, ``TLP:RED``, ``white``) as its TLP 2.0 level."""
    name = text.strip().upper().removeprefix("TLP:").strip()
    name = _TLP_ALIASES.get(name, name)
    if name not in TLP_LEVELS:
        raise IntelError(f"unknown TLP level {text!r} (known: {', '.join(TLP_LEVELS)})")
    return name


def tlp_rank(level: str) -> int:
    return TLP_LEVELS.index(level)


def canonical(kind: str, value: str) -> tuple[str, str]:
    """(type, canonical value) of an observable; raises IntelError when it is not one.

    Addresses are normalised by ``ipaddress`` (a host CIDR becomes the address, another
    CIDR its network), domains lower-cased without the trailing dot, hashes lower-case hex.
    """
    text = value.strip()
    if kind in (IPV4, IPV6):
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise IntelError(f"not an IP address or CIDR: {value!r}") from None
        actual = IPV4 if net.version == 4 else IPV6
        text = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
        return actual, text
    if kind == DOMAIN:
        name = text.lower().rstrip(".")
        try:
            name = name.encode("idna").decode("ascii") if not name.isascii() else name
        except UnicodeError:
            raise IntelError(f"not a domain name: {value!r}") from None
        if not _DOMAIN_RE.match(name):
            raise IntelError(f"not a domain name: {value!r}")
        return DOMAIN, name
    if kind == URL:
        if "://" not in text or any(c.isspace() for c in text):
            raise IntelError(f"not a URL: {value!r}")
        key = url_key(text)
        assert key is not None  # "://" is in the text
        return URL, key
    if kind == EMAIL:
        if not _EMAIL_RE.match(text):
            raise IntelError(f"not an e-mail address: {value!r}")
        return EMAIL, text.lower()
    if kind in HASH_LENGTHS:
        digest = text.lower()
        if len(digest) != HASH_LENGTHS[kind] or not _HEX_RE.match(digest):
            raise IntelError(f"not a {kind.rpartition('.')[2]} hash: {value!r}")
        return kind, digest
    raise IntelError(f"unsupported indicator type {kind!r}")


def url_key(text: str) -> str | None:
    """The form URLs are compared in: scheme and host lower-case (RFC 3986 6.2.2.1: they
    are case-insensitive, the path is not) and no bare trailing slash; None without a scheme."""
    scheme, sep, rest = text.strip().partition("://")
    if not sep:
        return None
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash if path else ''}{path}"


def guess_type(value: str) -> str:
    """The type of a bare observable (plain lists, CSV without a type column)."""
    text = value.strip()
    for kind in (IPV4, URL, EMAIL):
        try:
            return canonical(kind, text)[0]
        except IntelError:
            pass
    low = text.lower()
    if _HEX_RE.match(low):
        for kind, length in HASH_LENGTHS.items():
            if len(low) == length:
                return kind
    canonical(DOMAIN, text)  # raises when it is nothing we know
    return DOMAIN


def indicator_id(kind: str, value: str) -> str:
    """Deterministic record id: one record per (type, canonical value), whatever the source."""
    return hashlib.blake2b(f"{kind}\x00{value}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Observation:
    """One source's report of one observable, as an importer reads it."""

    type: str
    value: str
    source: str
    tlp: str = "CLEAR"
    confidence: int = 50
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    valid_until: datetime | None = None
    reference: str = ""
    labels: tuple[str, ...] = ()
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _max(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else max(a, b)


def _min(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b)


def new_record(kind: str, value: str) -> dict[str, Any]:
    return {"id": indicator_id(kind, value), "type": kind, "value": value, "sources": {},
            "sightings": {"count": 0}, "status": "active"}


def merge(record: dict[str, Any], obs: Observation, now: datetime) -> dict[str, Any]:
    """``record`` with ``obs`` folded in (a new dict; the source's entry is replaced)."""
    out = {**record, "sources": dict(record.get("sources", {}))}
    seen_last = obs.last_seen or obs.first_seen or now
    entry: dict[str, Any] = {
        "tlp": obs.tlp, "confidence": max(0, min(100, obs.confidence)),
        "first_seen": format_timestamp(obs.first_seen or seen_last), "last_seen": format_timestamp(seen_last),
        "valid_until": format_timestamp(obs.valid_until or seen_last + DEFAULT_TTL.get(obs.type, timedelta(days=90))),
        "imported": format_timestamp(now),
    }
    if obs.reference:
        entry["reference"] = obs.reference
    if obs.labels:
        entry["labels"] = sorted(set(obs.labels))
    if obs.description:
        entry["description"] = obs.description
    out["sources"][obs.source] = entry
    return summarise(out, now)


def summarise(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Recompute the record-level fields from its sources and the clock."""
    sources = record["sources"].values()
    first: str | None = None
    last: str | None = None
    until: str | None = None
    for entry in sources:
        first = _min(first, entry["first_seen"])
        last = _max(last, entry["last_seen"])
        until = _max(until, entry["valid_until"])
    record["confidence"] = max((e["confidence"] for e in sources), default=0)
    record["tlp"] = max((e["tlp"] for e in sources), key=tlp_rank, default="CLEAR")
    record["first_seen"], record["last_seen"], record["valid_until"] = first, last, until
    record["labels"] = sorted({label for e in sources for label in e.get("labels", [])})
    if record.get("type") != PATTERN:
        record["status"] = "active" if until is None or parse_timestamp(until) > now else "expired"
    return record


def is_active(record: dict[str, Any], now: datetime) -> bool:
    """Matchable, not marked expired and not past its expiry."""
    if record.get("type") not in TYPES or record.get("status") != "active":
        return False
    until = record.get("valid_until")
    return until is None or parse_timestamp(str(until)) > now
