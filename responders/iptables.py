"""Block and unblock IP addresses with iptables and ipset (for hosts without nftables).

One ``hash:net`` ipset per IP family with a default timeout (``timeout 0`` on create lets
each element carry its own), referenced by DROP rules in INPUT, OUTPUT (destination) and
FORWARD (both directions). Rules are checked with ``iptables -C`` before insertion, the set
is created with ``-exist``, and ``ipset test`` tells whether an address is already blocked,
so every call is idempotent. The kernel expires each element on time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from responders.base import COMMAND_SETTINGS, IP, Manifest, netns_prefix, require_ok, run_command
from responders.safeguards import IPNetwork, SafeguardPolicy, unblock_target
from soc_core.contracts import ResponseRequest, ResponseResult

MANIFEST = Manifest(
    name="iptables",
    description="Block an IP address or network (both directions) with an ipset and iptables DROP rules.",
    observables=frozenset({IP}),
    blocks=True,
    settings_schema={
        "type": "object", "additionalProperties": False,
        "properties": {
            "set_prefix": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,20}$"},
            **COMMAND_SETTINGS,
        },
    },
)

# (chain, ipset direction flag): a blocked address neither reaches us, nor is reached, nor crosses us.
_RULES = (("INPUT", "src"), ("OUTPUT", "dst"), ("FORWARD", "src"), ("FORWARD", "dst"))


class IpsetBlock:
    name = "iptables"
    accepts = MANIFEST.observables
    manifest = MANIFEST

    def __init__(self, policy: SafeguardPolicy, settings: Mapping[str, Any] | None = None) -> None:
        conf = MANIFEST.validate_settings(settings or {})
        self.policy = policy
        self.prefix = str(conf.get("set_prefix", "soc_block"))
        self.netns: str | None = conf.get("netns")
        self.timeout_secs = float(conf.get("command_timeout_secs", 10))

    def set_name(self, target: IPNetwork) -> str:
        return f"{self.prefix}_v{target.version}"

    def _cmd(self, *argv: str) -> Any:
        return run_command([*netns_prefix(self.netns), *argv], timeout_secs=self.timeout_secs)

    def ensure(self, version: int) -> None:
        """Create the set and the DROP rules when missing."""
        name = f"{self.prefix}_v{version}"
        family = "inet" if version == 4 else "inet6"
        tool = "iptables" if version == 4 else "ip6tables"
        require_ok(self._cmd("ipset", "create", name, "hash:net", "family", family, "timeout", "0", "-exist"),
                   "ipset create")
        for chain, direction in _RULES:
            rule = [chain, "-m", "set", "--match-set", name, direction, "-j", "DROP"]
            if self._cmd(tool, "-w", "5", "-C", *rule).returncode != 0:
                require_ok(self._cmd(tool, "-w", "5", "-I", *rule), f"{tool} -I {chain}")

    def is_blocked(self, target: IPNetwork) -> bool:
        # `ipset test` of a network also matches a wider blocked network; that is blocked too.
        return bool(self._cmd("ipset", "test", self.set_name(target), str(target)).returncode == 0)

    def run(self, request: ResponseRequest) -> ResponseResult:
        target = self.policy.enforce_block(request.value)
        duration = self.policy.block_duration(request.params.get("duration_secs"))
        if request.dry_run:
            return ResponseResult("dry_run", f"would add {target} to {self.set_name(target)} for {duration}s")
        self.ensure(target.version)
        if self.is_blocked(target):
            return ResponseResult("already_done", f"{target} already in {self.set_name(target)}")
        require_ok(self._cmd("ipset", "add", self.set_name(target), str(target), "timeout", str(duration), "-exist"),
                   "ipset add")
        return ResponseResult("done", f"{target} added to {self.set_name(target)} for {duration}s")

    def revert(self, request: ResponseRequest) -> ResponseResult:
        target = unblock_target(request.value)
        if request.dry_run:
            return ResponseResult("dry_run", f"would remove {target} from {self.set_name(target)}")
        if self._cmd("ipset", "list", "-n", self.set_name(target)).returncode != 0 or not self.is_blocked(target):
            return ResponseResult("already_done", f"{target} not in {self.set_name(target)} (expired or removed)")
        require_ok(self._cmd("ipset", "del", self.set_name(target), str(target), "-exist"), "ipset del")
        return ResponseResult("reverted", f"{target} removed from {self.set_name(target)}")
