"""Community ID flow hashing (v1, https://github.com/corelight/community-id-spec).

The same flow seen by two sensors gets the same ``network.community_id``, as Filebeat's
``community_id`` processor and Elasticsearch's ingest processor compute it; every parser
(firewalls, IDS, CEF/LEEF, Cisco, iptables) calls :func:`community_id` once per event.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from binascii import b2a_base64
from functools import lru_cache
from typing import Any, Final

PROTOCOLS: Final = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132}
_PORTED: Final = frozenset({6, 17, 132})
# ICMP type -> the type of its reply, so both directions of an exchange hash alike.
_ICMP4_PAIRS: Final = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
_ICMP6_PAIRS: Final = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130,
                        139: 140, 140: 139, 144: 145, 145: 144}
# Precompiled layouts (seed; protocol, padding and ports in one call): cheaper than
# struct.pack("!..") and than packing the tail in two parts.
_SEED: Final = struct.Struct("!H")
_PROTO: Final = struct.Struct("!BB")
_PROTO_PORTS: Final = struct.Struct("!BBHH")
# The default seed, packed once: every caller uses it.
_SEED_0: Final = _SEED.pack(0)
_sha1: Final = hashlib.sha1


@lru_cache(maxsize=65536)
def _packed(text: str) -> bytes | None:
    """The address bytes of an IP text, cached: logs repeat the same few addresses."""
    try:
        return ipaddress.ip_address(text).packed
    except ValueError:
        return None


def is_ip(value: Any) -> bool:
    """True for an IPv4/IPv6 address text (cached, so it is cheap on the hot path)."""
    return isinstance(value, str) and _packed(value) is not None


def _protocol(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdecimal():
            return int(value)
        return PROTOCOLS.get(value.lower())
    return None


def community_id(
    source_ip: Any, destination_ip: Any, source_port: Any, destination_port: Any, transport: Any, seed: int = 0
) -> str | None:
    """``1:<base64 sha1>`` for a flow, or ``None`` when a part is missing or invalid.

    For ICMP, ``source_port``/``destination_port`` carry the ICMP type and code (0 when absent).
    """
    # An int protocol (the usual case) skips the call to _protocol.
    proto = transport if type(transport) is int else _protocol(transport)
    if proto is None or not 0 <= proto <= 255 or not isinstance(source_ip, str) or not isinstance(destination_ip, str):
        return None
    a, b = _packed(source_ip), _packed(destination_ip)
    if a is None or b is None or len(a) != len(b):
        return None
    one_way = False
    if proto in _PORTED:
        if not isinstance(source_port, int) or not isinstance(destination_port, int):
            return None
        sport, dport = source_port, destination_port
    elif proto == 1 or proto == 58:
        # A missing ICMP type/code counts as 0, as Filebeat's community_id processor does.
        source_port = source_port if isinstance(source_port, int) else 0
        destination_port = destination_port if isinstance(destination_port, int) else 0
        pairs = _ICMP4_PAIRS if proto == 1 else _ICMP6_PAIRS
        sport = source_port
        if sport in pairs:
            dport = pairs[sport]
        else:
            dport, one_way = destination_port, True
    else:
        # No ports in the hash (only the protocol and its padding byte): the addresses
        # alone decide the order, as (a, 0) > (b, 0) would.
        if a > b:
            a, b = b, a
        data = (_SEED_0 if seed == 0 else _SEED.pack(seed)) + a + b + _PROTO.pack(proto, 0)
        return "1:" + b2a_base64(_sha1(data, usedforsecurity=False).digest(), newline=False).decode("ascii")
    if not (0 <= sport <= 0xFFFF and 0 <= dport <= 0xFFFF):
        return None
    if not one_way and (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = (_SEED_0 if seed == 0 else _SEED.pack(seed)) + a + b + _PROTO_PORTS.pack(proto, 0, sport, dport)
    return "1:" + b2a_base64(_sha1(data, usedforsecurity=False).digest(), newline=False).decode("ascii")
