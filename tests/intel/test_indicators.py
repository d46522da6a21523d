"""Canonical values, TLP levels, and merging one observable from several sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.indicators import (
    DOMAIN,
    IPV4,
    IPV6,
    SHA256,
    URL,
    Observation,
    canonical,
    guess_type,
    indicator_id,
    is_active,
    merge,
    new_record,
    tlp_level,
)
from soc_core.errors import IntelError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "value", "expected"), [
    (IPV4, " 10.1.2.3 ", (IPV4, "10.1.2.3")),
    (IPV4, "10.1.2.3/8", (IPV4, "10.0.0.0/8")),
    (IPV4, "10.1.2.3/32", (IPV4, "10.1.2.3")),
    (IPV4, "2001:DB8::1", (IPV6, "2001:db8::1")),
    (DOMAIN, "Evil.Example.COM.", (DOMAIN, "evil.example.com")),
    (URL, "HTTP://Evil.COM/Path/", (URL, "http://evil.com/Path/")),
    (URL, "https://evil.com/", (URL, "https://evil.com")),
    (SHA256, "AB" * 32, (SHA256, "ab" * 32)),
])
def test_canonical(kind: str, value: str, expected: tuple[str, str]) -> None:
    assert canonical(kind, value) == expected


@pytest.mark.parametrize(("kind", "value"), [
    (IPV4, "300.1.1.1"), (DOMAIN, "-bad-.com"), (DOMAIN, "a" * 64 + ".com"), (URL, "evil.com/x"),
    (SHA256, "ab" * 31), ("file:hashes.MD5", "zz" * 16),
])
def test_canonical_refuses(kind: str, value: str) -> None:
    with pytest.raises(IntelError):
        canonical(kind, value)


def test_guess_type() -> None:
    assert guess_type("198.51.100.7") == IPV4
    assert guess_type("198.51.100.0/24") == IPV4
    assert guess_type("http://x.example/a") == URL
    assert guess_type("bad@evil.example") == "email-addr"
    assert guess_type("d41d8cd98f00b204e9800998ecf8427e") == "file:hashes.MD5"
    assert guess_type("evil.example") == DOMAIN


def test_tlp_levels() -> None:
    assert tlp_level("tlp:amber+strict") == "AMBER+STRICT"
    assert tlp_level("WHITE") == "CLEAR"
    with pytest.raises(IntelError, match="unknown TLP"):
        tlp_level("purple")


def test_merge_two_sources_keeps_both_and_the_stricter_marking() -> None:
    record = new_record(DOMAIN, "evil.example")
    a = Observation(DOMAIN, "evil.example", "feed-a", "CLEAR", 40, first_seen=NOW - timedelta(days=3))
    b = Observation(DOMAIN, "evil.example", "center", "AMBER", 80, last_seen=NOW - timedelta(days=1),
                    valid_until=NOW + timedelta(days=400))
    merged = merge(merge(record, a, NOW), b, NOW)
    assert set(merged["sources"]) == {"feed-a", "center"}
    assert merged["confidence"] == 80
    assert merged["tlp"] == "AMBER"
    assert merged["first_seen"] == "2026-11-19T12:00:00.000Z"
    assert merged["valid_until"] == "2027-12-27T12:00:00.000Z"
    assert merged["id"] == indicator_id(DOMAIN, "evil.example")
    assert is_active(merged, NOW)
    assert not is_active(merged, NOW + timedelta(days=401))


def test_default_ttl_ages_addresses_faster_than_hashes() -> None:
    ip = merge(new_record(IPV4, "192.0.2.1"), Observation(IPV4, "192.0.2.1", "s", last_seen=NOW), NOW)
    digest = merge(new_record(SHA256, "ab" * 32), Observation(SHA256, "ab" * 32, "s", last_seen=NOW), NOW)
    later = NOW + timedelta(days=31)
    assert not is_active(ip, later)
    assert is_active(digest, later)
