"""Community ID v1 flow hashing (https://github.com/corelight/community-id-spec).

Firewall and IDS parsers set ``network.community_id`` with it, as Elastic's ingest
``community_id`` processor does, so that one flow seen by several sensors can be joined.
Pure function, no state: other parser groups may import it.
"""

from __future__ import annotations

import binascii
import hashlib
import socket
import struct
from typing import Final

TCP: Final = 6
UDP: Final = 17
ICMP: Final = 1
ICMP6: Final = 58
SCTP: Final = 132

# ICMP type -> the type of its reply, so both directions of a "flow" hash alike
# (the spec treats request/reply pairs as a conversation with pseudo ports).
_ICMP4_PAIRS: Final = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
_ICMP6_PAIRS: Final = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135,
                       130: 131, 131: 130, 139: 140, 140: 139, 144: 145, 145: 144}
# Precompiled packers: struct.pack re-parses its format string on every call.
_HEAD: Final = struct.Struct("!H")
_PROTO: Final = struct.Struct("!BB")
_PORTS: Final = struct.Struct("!BBHH")
_PORTED: Final = frozenset((TCP, UDP, SCTP, ICMP, ICMP6))
TRANSPORT_NUMBERS: Final = {"icmp": ICMP, "tcp": TCP, "udp": UDP, "ipv6-icmp": ICMP6,
                            "icmpv6": ICMP6, "sctp": SCTP}


def _pack(ip: str) -> bytes | None:
    """Network-order bytes of an IPv4/IPv6 address (``inet_pton`` is far cheaper than
    ``ipaddress`` on the hot path); ``None`` when it is not an address."""
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
    except (OSError, ValueError, TypeError):
        return None


def community_id(
    src_ip: str,
    dst_ip: str,
    proto: int,
    src_port: int | None = None,
    dst_port: int | None = None,
    seed: int = 0,
) -> str | None:
    """The ``1:<base64>`` Community ID of a flow, or ``None`` when the inputs cannot
    make one (bad addresses, mixed families, a ported protocol without ports).

    For ICMP/ICMPv6, ``src_port``/``dst_port`` are the ICMP type and code.
    """
    sb, db = _pack(src_ip), _pack(dst_ip)
    if sb is None or db is None or len(sb) != len(db) or not 0 <= proto <= 255:
        return None
    sport, dport = src_port, dst_port
    one_way = False
    if proto in _PORTED:
        if sport is None or dport is None:
            return None
        if proto in (ICMP, ICMP6):
            pairs = _ICMP4_PAIRS if proto == ICMP else _ICMP6_PAIRS
            icmp_type = sport
            if icmp_type in pairs:
                sport, dport = icmp_type, pairs[icmp_type]
            else:
                # Unpaired ICMP messages keep their code as the "port" and are one-way.
                sport, dport = icmp_type, dport
                one_way = True
        if not (0 <= sport <= 0xFFFF and 0 <= dport <= 0xFFFF):
            return None
    if not one_way and (sb, sport or 0) > (db, dport or 0):
        sb, db, sport, dport = db, sb, dport, sport
    if proto in _PORTED:
        data = _HEAD.pack(seed) + sb + db + _PORTS.pack(proto, 0, sport, dport)
    else:
        data = _HEAD.pack(seed) + sb + db + _PROTO.pack(proto, 0)
    digest = hashlib.sha1(data, usedforsecurity=False).digest()
    return "1:" + binascii.b2a_base64(digest, newline=False).decode("ascii")
