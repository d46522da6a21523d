"""Community ID v1 (one implementation for every parser): the specification's published
vectors, symmetry, ICMP pairs and bad input."""

from __future__ import annotations

import pytest

from parsers.community_id import community_id

ICMP, TCP, UDP = 1, 6, 17


def test_tcp_vector_from_the_specification() -> None:
    # corelight/community-id-spec, baseline "tcp" vector.
    assert community_id("128.232.110.120", "66.35.250.204", 34855, 80, TCP) == (
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    )


def test_icmp_echo_vector_from_the_specification() -> None:
    # corelight/community-id-spec, "icmp" echo request (type 8, code 0).
    assert community_id("192.168.0.89", "192.168.0.1", 8, 0, ICMP) == (
        "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
    )


def test_both_directions_of_a_flow_hash_alike() -> None:
    forward = community_id("10.0.0.1", "10.0.0.2", 5353, 53, UDP)
    backward = community_id("10.0.0.2", "10.0.0.1", 53, 5353, UDP)
    assert forward == backward
    assert forward is not None and forward.startswith("1:")


def test_icmp_request_and_reply_are_one_conversation() -> None:
    request = community_id("10.0.0.1", "10.0.0.2", 8, 0, ICMP)
    reply = community_id("10.0.0.2", "10.0.0.1", 0, 0, ICMP)
    assert request == reply


def test_ipv6_flow_is_symmetric() -> None:
    a = community_id("2001:db8::1", "2001:db8::2", 443, 51000, TCP)
    b = community_id("2001:db8::2", "2001:db8::1", 51000, 443, TCP)
    assert a == b and a is not None


def test_seed_changes_the_hash() -> None:
    assert community_id("10.0.0.1", "10.0.0.2", 1, 2, TCP, seed=1) != community_id("10.0.0.1", "10.0.0.2", 1, 2
    , TCP)


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
    assert community_id(src, dst, sport, dport, proto) is None


def test_portless_protocol_hashes_without_ports() -> None:
    gre = community_id("10.0.0.1", "10.0.0.2", None, None, 47)
    assert gre is not None and gre == community_id("10.0.0.2", "10.0.0.1", None, None, 47)


def test_icmp_without_type_and_code_hashes_as_type_zero_code_zero() -> None:
    # Filebeat's processor and Elastic's ingest processor both read a missing type/code as 0.
    assert community_id("10.0.0.1", "10.0.0.2", None, None, "icmp") == community_id("10.0.0.1", "10.0.0.2", 0, 0, 1)


def test_icmpv6_node_information_query_and_response_pair() -> None:
    query = community_id("2001:db8::1", "2001:db8::2", 139, 0, 58)
    assert query is not None and query == community_id("2001:db8::2", "2001:db8::1", 140, 0, 58)


def test_transport_names_and_numbers_agree() -> None:
    assert community_id("10.0.0.1", "10.0.0.2", 1, 2, "TCP") == community_id("10.0.0.1", "10.0.0.2", 1, 2, 6)
