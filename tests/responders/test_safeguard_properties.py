"""Property: no sequence of playbooks, steps and inputs makes any responder block an address
in a never-block set or a network wider than the limit.

Two views. (1) The whole path — generated playbooks (through the YAML loader), incidents,
incident changes, approvals, sweeps and time — with the pfSense and FortiGate responders
against local servers that play their documented APIs (we cannot run the appliances here);
every address any request ever asked the appliance to block is checked. (2) The kernel
responders (nftables, iptables/ipset) called directly with generated inputs inside a network
namespace (as root); every element that appears in their sets is checked.
"""

from __future__ import annotations

import contextlib
import ipaddress
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playbooks.config import ResponseConfig
from playbooks.executor import Executor
from playbooks.loader import load_text
from playbooks.runner import InProcessDispatcher, PlaybookObserver
from responders.iptables import IpsetBlock
from responders.nftables import NftablesBlock
from responders.safeguards import IPNetwork, ProtectedNetwork, SafeguardPolicy, SafeguardRefused, parse_target
from soc_core.clock import FrozenClock
from soc_core.contracts import ResponseRequest
from soc_store.sqlite import SqliteStore
from tests.conftest import FROZEN_AT
from tests.playbooks.support import incident
from tests.responders.netns import namespace_pair
from tests.responders.vendor_servers import FortiGateHandler, PfSenseHandler, serve

BASE4 = int(ipaddress.IPv4Address("10.20.0.0"))
BASE6 = int(ipaddress.IPv6Address("2001:db8::"))
BUILTIN = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4",
                                             "255.255.255.255/32", "::/128", "::1/128", "fe80::/10", "ff00::/8")]

# Addresses and networks crowd one small space, so they often fall into the never-block sets.
v4_net = st.tuples(st.integers(0, 4095), st.integers(0, 32)).map(
    lambda t: ipaddress.ip_network(f"{ipaddress.IPv4Address(BASE4 + t[0])}/{t[1]}", strict=False))
v6_net = st.tuples(st.integers(0, 4095), st.integers(0, 128)).map(
    lambda t: ipaddress.ip_network(f"{ipaddress.IPv6Address(BASE6 + t[0])}/{t[1]}", strict=False))
address = st.integers(0, 4095).map(lambda n: str(ipaddress.IPv4Address(BASE4 + n)))
target = st.one_of(
    address, address, v4_net.map(str), v6_net.map(str),
    st.integers(0, 4095).map(lambda n: f"{ipaddress.IPv4Address(BASE4 + n)}/{n % 33}"),  # host bits set
    st.sampled_from(["127.0.0.1", "0.0.0.0/0", "::/0", "255.255.255.255", "224.0.0.5", "fe80::1", "::1",
                     "", "10.20.0.1/33", "not-an-ip", " 10.20.0.9 ", "10.20.0.0/8"]),
)
policies = st.builds(
    lambda nets, p4, p6, rate, categories: SafeguardPolicy(
        never_block=tuple(ProtectedNetwork(n, c) for n, c in zip(nets, categories, strict=False)),
        max_prefix_v4=p4, max_prefix_v6=p6, max_blocks_per_window=rate),
    st.lists(st.one_of(v4_net, v4_net, v6_net), min_size=0, max_size=4),
    st.integers(8, 32), st.integers(32, 128), st.integers(0, 20),
    st.lists(st.sampled_from(["own_networks", "gateways", "dns_servers", "national_center", "protected_assets"]),
             min_size=4, max_size=4),
)


def violation(policy: SafeguardPolicy, blocked: IPNetwork) -> str | None:
    """Why blocking ``blocked`` breaks the policy (independent of the code under test)."""
    limit = policy.max_prefix_v4 if blocked.version == 4 else policy.max_prefix_v6
    if blocked.prefixlen < limit:
        return f"{blocked} wider than /{limit}"
    for net in [*BUILTIN, *(p.network for p in policy.never_block)]:
        if net.version == blocked.version and net.overlaps(blocked):
            return f"{blocked} overlaps never-block {net}"
    return None


step = st.fixed_dictionaries(
    {"type": st.sampled_from(["block_ip", "block_ip", "isolate_host", "wait_for_approval", "revert"]),
     "responder": st.sampled_from(["pfsense", "fortigate"]),
     "entity": st.sampled_from(["source.ip", "destination.ip"]),
     "duration_secs": st.integers(1, 100000), "approval": st.booleans()})


def playbook_yaml(index: int, steps: list[dict[str, Any]]) -> str:
    out = []
    for i, raw in enumerate(steps):
        s: dict[str, Any] = {"id": f"s{i}", "type": raw["type"]}
        if raw["type"] in ("block_ip", "isolate_host"):
            s.update({k: raw[k] for k in ("responder", "entity", "duration_secs", "approval")})
        elif raw["type"] == "revert":
            earlier = [o["id"] for o in out if o["type"] in ("block_ip", "isolate_host")]
            if not earlier:
                continue
            s["step"] = earlier[-1]
        out.append(s)
    return yaml.safe_dump({"id": f"gen-{index}", "name": "generated", "trigger": {
        "tags": ["attack.t1110"], "changes": ["created", "updated", "status"]}, "steps": out or [
        {"id": "b", "type": "block_ip", "responder": "pfsense"}]})


operation = st.one_of(
    st.tuples(st.just("observe"), st.integers(0, 2), st.sampled_from(["created", "updated", "status"]),
              st.sampled_from(["new", "in_progress", "false_positive"])),
    st.tuples(st.just("approve_all")), st.tuples(st.just("sweep")),
    st.tuples(st.just("advance"), st.integers(1, 200000)),
)


def requested_blocks(fgt: Any, pf: Any) -> Iterator[str]:
    for method, path, body in fgt.requests:
        if method == "POST" and path.endswith("/add_users"):
            yield from body["ip_addresses"]
    for method, path, body in pf.requests:
        if method in ("POST", "PATCH") and path == "/api/v2/firewall/alias":
            yield from body.get("address", [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, playbooks=st.lists(st.lists(step, min_size=1, max_size=4), min_size=1, max_size=3),
       entities=st.lists(st.fixed_dictionaries({"source.ip": st.lists(target, max_size=4),
                                                "destination.ip": st.lists(target, max_size=3)}),
                         min_size=3, max_size=3),
       operations=st.lists(operation, min_size=1, max_size=10))
def test_no_playbook_sequence_blocks_a_protected_or_too_wide_target(
        policy: SafeguardPolicy, playbooks: list[list[dict[str, Any]]], entities: list[dict[str, list[str]]],
        operations: list[tuple[Any, ...]]) -> None:
    with serve(FortiGateHandler) as fgt, serve(PfSenseHandler) as pf, tempfile.TemporaryDirectory() as tmp:
        # The kernel responders point at a namespace that does not exist: a step reaching them
        # by mistake fails instead of touching this machine's own firewall.
        config = ResponseConfig(policy=policy, builtin_playbooks=False, responders={
            "nftables": {"netns": "soc-absent"}, "iptables": {"netns": "soc-absent"},
            "fortigate": {"url": fgt.url, "token": FortiGateHandler.TOKEN, "timeout_secs": 5},
            "pfsense": {"url": pf.url, "api_key": PfSenseHandler.KEY, "timeout_secs": 5}})
        clock = FrozenClock(FROZEN_AT)
        store = SqliteStore(str(Path(tmp) / "soc.db"))
        executor = Executor(store, config, clock)
        loaded = [load_text(playbook_yaml(i, steps), f"gen-{i}.yml") for i, steps in enumerate(playbooks)]
        observer = PlaybookObserver(store, config, InProcessDispatcher(executor), clock, loaded)
        for op in operations:
            if op[0] == "observe":
                inc = incident(f"INC-{op[1]}", entities=entities[op[1]], status=op[3])
                observer.plan_and_dispatch(inc, op[2])
            elif op[0] == "approve_all":
                for action in list(executor.queue.where({"status": "awaiting_approval"})):
                    executor.approve(str(action["id"]), "hypothesis")
            elif op[0] == "sweep":
                observer.runner.sweep()
            else:
                clock.advance(timedelta(seconds=op[1]))
                observer.runner.sweep()
        store.close()
        for text in requested_blocks(fgt, pf):
            problem = violation(policy, parse_target(text))
            assert problem is None, problem


@pytest.fixture(scope="module")
def kernel_responders() -> Iterator[tuple[str, Any]]:
    with namespace_pair() as pair:
        yield pair.defender, None


def _nft_elements(netns: str) -> set[IPNetwork]:
    found: set[IPNetwork] = set()
    for version in (4, 6):
        found |= NftablesBlock(SafeguardPolicy(), {"netns": netns}).elements(version) if _has_table(netns) else set()
    return found


def _has_table(netns: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "table", "inet", "soc"],
                          capture_output=True, timeout=10, check=False).returncode == 0


def _ipset_elements(netns: str) -> set[IPNetwork]:
    out = subprocess.run(["ip", "netns", "exec", netns, "ipset", "list"], capture_output=True, text=True,
                         timeout=10, check=False).stdout
    members, found = False, set()
    for line in out.splitlines():
        if line.startswith("Members:"):
            members = True
        elif not line.strip() or line.startswith("Name:"):
            members = False
        elif members:
            found.add(ipaddress.ip_network(line.split()[0], strict=False))
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, targets=st.lists(target, min_size=1, max_size=6))
def test_kernel_responders_never_add_a_protected_or_too_wide_element(
        kernel_responders: tuple[str, Any], policy: SafeguardPolicy, targets: list[str]) -> None:
    netns = kernel_responders[0]
    for responder in (NftablesBlock(policy, {"netns": netns}), IpsetBlock(policy, {"netns": netns})):
        before = _nft_elements(netns) | _ipset_elements(netns)
        for value in targets:
            with contextlib.suppress(SafeguardRefused):  # refused: nothing was added, checked below
                responder.run(ResponseRequest("ACT-prop", "ip", value, {"duration_secs": 600}))
        for element in (_nft_elements(netns) | _ipset_elements(netns)) - before:
            problem = violation(policy, element)
            assert problem is None, problem
