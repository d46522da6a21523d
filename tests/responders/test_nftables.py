"""The nftables responder against the real kernel, inside network namespaces (as root).

A packet (a TCP connection) from the blocked address is dropped, another address of the same
host still gets through, the element expires on time by its own timeout, and every call is
idempotent. Scripts are checked with ``nft -c -f`` before they are applied.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from responders.nftables import NftablesBlock
from responders.safeguards import SafeguardPolicy, SafeguardRefused, parse_target, protected
from soc_core.contracts import ResponseRequest
from tests.responders.netns import ATTACKER_IP, OTHER_IP, can_connect, namespace_pair, require_netns, tcp_listener


def _req(value: str, secs: int = 3600) -> ResponseRequest:
    return ResponseRequest("ACT-test", "ip", value, {"duration_secs": secs})


def test_rule_set_passes_nft_check() -> None:
    require_netns()
    responder = NftablesBlock(SafeguardPolicy())
    script = responder.table_script() + responder.element_script("add", parse_target("203.0.113.9"), 60) \
        + responder.element_script("add", parse_target("2001:db8::/64"), 60)
    proc = subprocess.run(["nft", "-c", "-f", "-"], input=script, text=True, capture_output=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert "flags interval, timeout" in script


def test_block_drops_packets_then_expires() -> None:
    with namespace_pair() as pair, tcp_listener(pair):
        responder = NftablesBlock(SafeguardPolicy(), {"netns": pair.defender})
        assert can_connect(pair, ATTACKER_IP)
        result = responder.run(_req(ATTACKER_IP, secs=3))
        assert result.status == "done"
        assert responder.run(_req(ATTACKER_IP, secs=3)).status == "already_done"
        assert not can_connect(pair, ATTACKER_IP)
        assert can_connect(pair, OTHER_IP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not can_connect(pair, ATTACKER_IP):
            time.sleep(0.5)
        assert can_connect(pair, ATTACKER_IP), "the element did not expire"
        assert responder.revert(_req(ATTACKER_IP)).status == "already_done"


def test_revert_unblocks_now() -> None:
    with namespace_pair() as pair, tcp_listener(pair):
        responder = NftablesBlock(SafeguardPolicy(), {"netns": pair.defender})
        responder.run(_req(ATTACKER_IP))
        assert not can_connect(pair, ATTACKER_IP)
        assert responder.revert(_req(ATTACKER_IP)).status == "reverted"
        assert can_connect(pair, ATTACKER_IP)
        assert responder.revert(_req(ATTACKER_IP)).status == "already_done"


def test_responder_itself_enforces_safeguards() -> None:
    with namespace_pair() as pair:
        policy = SafeguardPolicy(never_block=tuple(protected([ATTACKER_IP], "gateways", "edge router")))
        responder = NftablesBlock(policy, {"netns": pair.defender})
        with pytest.raises(SafeguardRefused) as refused:
            responder.run(_req(ATTACKER_IP))
        assert refused.value.safeguard == "never_block"
        with pytest.raises(SafeguardRefused) as wide:
            responder.run(_req("198.18.0.0/15"))
        assert wide.value.safeguard == "cidr_width_limit"
        # Refused before any nft call: not even our table was created.
        assert subprocess.run(["ip", "netns", "exec", pair.defender, "nft", "list", "tables"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip() == ""


def test_nested_blocks_do_not_collide_in_the_interval_set() -> None:
    with namespace_pair() as pair:
        responder = NftablesBlock(SafeguardPolicy(), {"netns": pair.defender})
        assert responder.run(_req("198.51.100.7")).status == "done"
        wider = responder.run(_req("198.51.100.0/24"))
        assert wider.status == "done" and "replacing 198.51.100.7/32" in wider.detail
        assert responder.run(_req("198.51.100.9")).status == "already_done"
        assert responder.elements(4) == {parse_target("198.51.100.0/24")}
