"""Which address an ``isolate_host`` step isolates when the incident names the infected host
only by name: its one attacked address, and no guess among several."""

from __future__ import annotations

from playbooks.planner import host_addresses
from tests.playbooks.support import incident


def test_host_ip_first_then_the_one_attacked_address() -> None:
    named = incident(entities={"source.ip": ["203.0.113.7"], "host.ip": ["192.0.2.10"],
                               "destination.ip": ["192.0.2.99"]})
    assert host_addresses(named, "host.ip") == ["192.0.2.10"]
    by_name_only = incident(entities={"source.ip": ["203.0.113.7"], "host.name": ["web1"],
                                      "destination.ip": ["192.0.2.10"]})
    assert host_addresses(by_name_only, "host.ip") == ["192.0.2.10"]


def test_no_guess_among_several_attacked_addresses() -> None:
    sweep = incident(entities={"source.ip": ["203.0.113.7"], "host.name": ["web1"],
                               "destination.ip": ["192.0.2.10", "192.0.2.11"]})
    assert host_addresses(sweep, "host.ip") == []
    assert host_addresses(sweep, "destination.ip") == ["192.0.2.10", "192.0.2.11"]  # asked for by name
