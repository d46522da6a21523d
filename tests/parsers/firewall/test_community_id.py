"""Community ID v1: the specification's published vectors, symmetry and bad input."""

from __future__ import annotations

import pytest

from parsers.firewall.community_id import ICMP, TCP, UDP, community_id


def test_tcp_vector_from_the_specification() -> None:
    # corelight/community-id-spec, baseline "tcp" vector.
    assert community_id("128.232.110.120", "66.35.250.204", TCP, 34855, 80) == (
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    )


def test_icmp_echo_vector_from_the_specification() -> None:
    # corelight/community-id-spec, "icmp" echo request (type 8, code 0).
    assert community_id("192.168.0.89", "192.168.0.1", ICMP, 8, 0) == (
        "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
    )


def test_both_directions_of_a_flow_hash_alike() -> None:
    forward = community_id("10.0.0.1", "10.0.0.2", UDP, 5353, 53)
    backward = community_id("10.0.0.2", "10.0.0.1", UDP, 53, 5353)
    assert forward == backward
    assert forward is not None and forward.startswith("1:")


def test_icmp_request_and_reply_are_one_conversation() -> None:
    request = community_id("10.0.0.1", "10.0.0.2", ICMP, 8, 0)
    reply = community_id("10.0.0.2", "10.0.0.1", ICMP, 0, 0)
    assert request == reply


def test_ipv6_flow_is_symmetric() -> None:
    a = community_id("2001:db8::1", "2001:db8::2", TCP, 443, 51000)
    b = community_id("2001:db8::2", "2001:db8::1", TCP, 51000, 443)
    assert a == b and a is not None


def test_seed_changes_the_hash() -> None:
    assert community_id("10.0.0.1", "10.0.0.2", TCP, 1, 2, seed=1) != community_id(
        "10.0.0.1", "10.0.0.2", TCP, 1, 2
    )


@pytest.mark.parametrize(
    ("src", "dst", "proto", "sport", "dport"),
    [
        ("not-an-ip", "10.0.0.2", TCP, 1, 2),
        ("10.0.0.1", "2001:db8::1", TCP, 1, 2),  # mixed families
        ("10.0.0.1", "10.0.0.2", TCP, None, 2),  # ported protocol without a port
        ("10.0.0.1", "10.0.0.2", TCP, 70000, 2),
        ("10.0.0.1", "10.0.0.2", 300, 1, 2),
    ],
)
def test_inputs_that_make_no_flow_give_none(
    src: str, dst: str, proto: int, sport: int | None, dport: int | None
) -> None:
    assert community_id(src, dst, proto, sport, dport) is None


def test_portless_protocol_hashes_without_ports() -> None:
    gre = community_id("10.0.0.1", "10.0.0.2", 47)
    assert gre is not None and gre == community_id("10.0.0.2", "10.0.0.1", 47)
