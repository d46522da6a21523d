"""The safeguard policy on its own: never-block sets, CIDR width, built-in reserved ranges,
durations, approvals, rate limit, and configuration errors that name the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from responders import BUILTIN_RESPONDERS, build_responder
from responders.safeguards import SafeguardPolicy, SafeguardRefused
from soc_core.errors import ConfigError

CONFIG = """\
never_block:
  own_networks: [10.0.0.0/8]
  gateways: [{cidr: 203.0.113.1, label: edge router}]
  dns_servers: [8.8.8.8]
  national_center: [198.51.100.0/28]
  protected_assets: [2001:db8:1::/48]
max_prefix_v4: 28
max_blocks_per_window: 3
default_block_secs: 600
max_block_secs: 86400
approval_required: [isolate_host, block_ip]
"""


@pytest.fixture
def policy(tmp_path: Path) -> SafeguardPolicy:
    path = tmp_path / "safeguards.yml"
    path.write_text(CONFIG)
    return SafeguardPolicy.from_file(path)


@pytest.mark.parametrize(("target", "safeguard", "why"), [
    ("10.1.2.3", "never_block", "own_networks"),
    ("203.0.113.1", "never_block", "gateways (edge router)"),
    ("203.0.113.0/28", "never_block", "gateways"),  # a network containing the gateway
    ("8.8.8.8", "never_block", "dns_servers"),
    ("198.51.100.9", "never_block", "national_center"),
    ("2001:db8:1:2::7", "never_block", "protected_assets"),
    ("127.0.0.1", "never_block", "loopback"),
    ("fe80::1", "never_block", "link-local"),
    ("224.0.0.251", "never_block", "multicast"),
    ("203.0.113.0/24", "cidr_width_limit", "/28"),
    ("2001:db8::/40", "cidr_width_limit", "/64"),
    ("0.0.0.0/0", "cidr_width_limit", "/28"),
    ("203.0.113.77/24", "valid_target", "host bits"),
    ("evil.example", "valid_target", "not an IP"),
])
def test_refusals_name_the_safeguard(policy: SafeguardPolicy, target: str, safeguard: str, why: str) -> None:
    refusals = policy.block_refusals(target)
    assert any(r.safeguard == safeguard and why in r.reason for r in refusals), refusals
    with pytest.raises(SafeguardRefused):
        policy.enforce_block(target)


@pytest.mark.parametrize("target", ["203.0.113.77", "203.0.113.64/28", "2001:db8:2::1", "2001:db8:2::/64"])
def test_allowed_targets(policy: SafeguardPolicy, target: str) -> None:
    assert policy.block_refusals(target) == []
    assert str(policy.enforce_block(target)).startswith(target.split("/")[0])


def test_durations_approval_and_rate(policy: SafeguardPolicy) -> None:
    assert policy.block_duration(None) == 600
    assert policy.block_duration(10**9) == 86400  # no block is permanent
    assert policy.needs_approval("block_ip", False) and not policy.needs_approval("notify", False)
    assert policy.needs_approval("notify", True)
    assert policy.rate_refusal(2) is None
    refusal = policy.rate_refusal(3)
    assert refusal is not None and refusal.safeguard == "block_rate_limit"


@pytest.mark.parametrize(("text", "message"), [
    ("never_block: {friends: [1.2.3.4]}", "unknown never_block category 'friends'"),
    ("never_block: {gateways: [300.1.1.1]}", "never_block.gateways"),
    ("max_prefix_v4: 40", "max_prefix_v4"),
    ("dry_rn: true", "unknown safeguard settings ['dry_rn']"),
    ("default_block_secs: 0", "default_block_secs"),
])
def test_bad_configuration_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SafeguardPolicy.from_file(path)


def test_every_responder_has_a_manifest_and_checks_its_settings() -> None:
    for name in BUILTIN_RESPONDERS:
        with pytest.raises(ConfigError, match=name):
            build_responder(name, SafeguardPolicy(), {"no_such_setting": 1, "url": "http://127.0.0.1:1",
                                                      "token": "t", "api_key": "k", "host": "h",
                                                      "sender": "a@b", "to": ["c@d"]})
        responder_cls = type(build_responder(name, SafeguardPolicy(), _minimal(name)))
        manifest = responder_cls.manifest
        assert manifest.name == name == responder_cls.name and manifest.observables
        assert manifest.blocks == (name in {"nftables", "iptables", "pfsense", "fortigate"})


def _minimal(name: str) -> dict[str, object]:
    return {"pfsense": {"url": "http://127.0.0.1:1", "api_key": "k"},
            "fortigate": {"url": "http://127.0.0.1:1", "token": "t"},
            "webhook": {"url": "http://127.0.0.1:1/hook"},
            "email": {"host": "127.0.0.1", "sender": "soc@example.vn", "to": ["a@example.vn"]}}.get(name, {})
