"""The in-memory index of active indicators, built so that a lookup never loops over them.

- exact values (addresses, URLs, e-mail addresses, hashes): one dict per type;
- CIDRs: per prefix length present, a dict from the masked network integer to the
  indicator; an address is looked up once per distinct prefix length (at most 33 for
  IPv4, 129 for IPv6, in practice a handful), whatever the number of CIDRs;
- domains: a dict of names; a queried name is looked up with each of its parent
  suffixes (``a.b.evil.com`` -> ``b.evil.com`` -> ``evil.com`` -> ``com``), so an
  indicator for ``evil.com`` matches its subdomains.

Each entry keeps only what an enrichment needs (a small tuple), not the whole record.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any, NamedTuple

from intel.indicators import DOMAIN, EMAIL, IPV4, IPV6, MD5, SHA1, SHA256, URL


class Hit(NamedTuple):
    """What an enrichment says about one matched indicator."""

    id: str
    type: str
    value: str
    sources: tuple[str, ...]
    confidence: int
    tlp: str
    first_seen: str | None
    last_seen: str | None


class IndicatorIndex:
    """Active indicators, by type, for constant-time lookups."""

    def __init__(self) -> None:
        self.exact: dict[str, dict[str, Hit]] = {t: {} for t in (IPV4, IPV6, URL, EMAIL, MD5, SHA1, SHA256)}
        self.domains: dict[str, Hit] = {}
        # prefix length -> {network as int: hit}, separately for IPv4 and IPv6
        self.cidrs: dict[int, dict[int, dict[int, Hit]]] = {4: {}, 6: {}}
        self._prefixes: dict[int, list[int]] = {4: [], 6: []}
        self.size = 0

    def add(self, record: dict[str, Any]) -> None:
        """Index one indicator record (already known to be active)."""
        kind, value = record["type"], record["value"]
        hit = Hit(record["id"], kind, value, tuple(sorted(record.get("sources", {}))),
                  int(record.get("confidence", 0)), str(record.get("tlp", "CLEAR")),
                  record.get("first_seen"), record.get("last_seen"))
        self.size += 1
        if kind == DOMAIN:
            self.domains[value] = hit
        elif kind in (IPV4, IPV6) and "/" in value:
            net = ipaddress.ip_network(value)
            by_len = self.cidrs[net.version].setdefault(net.prefixlen, {})
            if not by_len:
                self._prefixes[net.version] = sorted(self.cidrs[net.version], reverse=True)
            by_len[int(net.network_address)] = hit
        elif kind in self.exact:
            self.exact[kind][value] = hit
        else:
            self.size -= 1

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.add(record)

    def ip(self, text: str) -> list[Hit]:
        """Indicators for an address: the exact one and every CIDR holding it (most specific first)."""
        if ":" not in text:
            # The common case, IPv4 text, parsed by the C library (strict dotted quad).
            try:
                packed = socket.inet_pton(socket.AF_INET, text)
            except OSError:
                return []
            exact = self.exact[IPV4].get(text)
            out = [exact] if exact else []
            if self._prefixes[4]:
                out.extend(self._in_cidrs(4, int.from_bytes(packed, "big"), 32))
            return out
        try:
            addr = ipaddress.ip_address(text.strip())
        except ValueError:
            return []
        if addr.version == 6 and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        exact = self.exact[IPV4 if addr.version == 4 else IPV6].get(str(addr))
        out = [exact] if exact else []
        out.extend(self._in_cidrs(addr.version, int(addr), addr.max_prefixlen))
        return out

    def _in_cidrs(self, version: int, number: int, bits: int) -> list[Hit]:
        tables = self.cidrs[version]
        out = []
        for length in self._prefixes[version]:
            hit = tables[length].get(number >> (bits - length) << (bits - length))
            if hit:
                out.append(hit)
        return out

    def domain(self, name: str) -> list[Hit]:
        """The indicator for ``name`` or its nearest listed parent domain."""
        label = name.strip().lower().rstrip(".")
        while label:
            hit = self.domains.get(label)
            if hit:
                return [hit]
            _, _, label = label.partition(".")
        return []

    def value(self, kind: str, text: str) -> list[Hit]:
        """Exact lookup (URLs, e-mail addresses, hashes) of an already normalised value."""
        hit = self.exact[kind].get(text)
        return [hit] if hit else []
