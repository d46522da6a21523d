"""The iptables/ipset responder against the real kernel inside network namespaces (as root):
a connection from the blocked address is dropped, another address still passes, the ipset
element expires by its own timeout, and every call is idempotent."""

from __future__ import annotations

import shutil
import time

import pytest

from responders.iptables import IpsetBlock
from responders.safeguards import SafeguardPolicy, SafeguardRefused, protected
from soc_core.contracts import ResponseRequest
from tests.responders.netns import ATTACKER_IP, OTHER_IP, can_connect, namespace_pair, tcp_listener


def _req(value: str, secs: int = 3600) -> ResponseRequest:
    return ResponseRequest("ACT-ipset", "ip", value, {"duration_secs": secs})


@pytest.fixture(autouse=True)
def _tools() -> None:
    if shutil.which("ipset") is None or shutil.which("iptables") is None:
        pytest.skip("ipset and iptables are needed (scripts/install-system-deps.sh installs them)")


def test_block_drops_expires_and_reverts() -> None:
    with namespace_pair() as pair, tcp_listener(pair):
        responder = IpsetBlock(SafeguardPolicy(), {"netns": pair.defender})
        assert responder.run(_req(ATTACKER_IP, secs=3)).status == "done"
        assert responder.run(_req(ATTACKER_IP, secs=3)).status == "already_done"
        assert not can_connect(pair, ATTACKER_IP)
        assert can_connect(pair, OTHER_IP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not can_connect(pair, ATTACKER_IP):
            time.sleep(0.5)
        assert can_connect(pair, ATTACKER_IP), "the ipset element did not expire"
        responder.run(_req(ATTACKER_IP))
        assert responder.revert(_req(ATTACKER_IP)).status == "reverted"
        assert can_connect(pair, ATTACKER_IP)
        assert responder.revert(_req(ATTACKER_IP)).status == "already_done"


def test_refuses_protected_and_wide() -> None:
    with namespace_pair() as pair:
        policy = SafeguardPolicy(never_block=tuple(protected([ATTACKER_IP], "dns_servers")))
        responder = IpsetBlock(policy, {"netns": pair.defender})
        with pytest.raises(SafeguardRefused, match="never_block"):
            responder.run(_req(ATTACKER_IP))
        with pytest.raises(SafeguardRefused, match="cidr_width_limit"):
            responder.run(_req("2001:db8::/32"))
