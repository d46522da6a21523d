"""Block and unblock IP addresses with nftables: named sets with per-element timeouts.

The responder owns one table (``inet soc`` by default) holding two sets (``block_v4``,
``block_v6``; ``flags interval, timeout`` so a CIDR network and an expiry per element both
fit) and two drop rules per hook (a blocked address neither reaches this host, nor is reached from it, nor
crosses it). A block adds one
element with its timeout, so the kernel removes it on time even if nothing of ours runs
then; the action queue's revert is the second guarantee and is idempotent.

Every script is checked with ``nft -c -f`` before it is applied with ``nft -f``. Running
twice is harmless: the table is created only when missing and a target already covered by
an element is reported as ``already_done``. Because an interval set refuses overlapping
elements, narrower elements inside a new, wider block are replaced by it in one atomic script.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from responders.base import COMMAND_SETTINGS, IP, Manifest, netns_prefix, require_ok, run_command
from responders.safeguards import IPNetwork, SafeguardPolicy, parse_target, unblock_target
from soc_core.contracts import ResponseRequest, ResponseResult

MANIFEST = Manifest(
    name="nftables",
    description="Block an IP address or network (both directions) in an nftables named set with a timeout.",
    observables=frozenset({IP}),
    blocks=True,
    settings_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "table": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,31}$"},
            "nft": {"type": "string", "minLength": 1},
            "hook_priority": {"type": "integer", "minimum": -400, "maximum": 400},
            **COMMAND_SETTINGS,
        },
    },
)


class NftablesBlock:
    """The nftables block responder (see the module docstring)."""

    name = "nftables"
    accepts = MANIFEST.observables
    manifest = MANIFEST

    def __init__(self, policy: SafeguardPolicy, settings: Mapping[str, Any] | None = None) -> None:
        conf = MANIFEST.validate_settings(settings or {})
        self.policy = policy
        self.table = str(conf.get("table", "soc"))
        self.nft = str(conf.get("nft", "nft"))
        self.netns: str | None = conf.get("netns")
        self.priority = int(conf.get("hook_priority", -10))
        self.timeout_secs = float(conf.get("command_timeout_secs", 10))

    # -- the rule set -------------------------------------------------------------------

    def table_script(self) -> str:
        """The declaration of our table, sets and drop rules (a complete ``nft -f`` file)."""
        # A blocked address may neither reach us nor be reached (input/output), nor cross us (forward).
        matches = {"input": ("saddr",), "output": ("daddr",), "forward": ("saddr", "daddr")}
        chains = "\n".join(
            f"  chain {hook} {{\n    type filter hook {hook} priority {self.priority}; policy accept;\n"
            + "".join(f"    ip {d} @block_v4 drop\n    ip6 {d} @block_v6 drop\n" for d in directions)
            + "  }"
            for hook, directions in matches.items()
        )
        return (f"table inet {self.table} {{\n"
                "  set block_v4 { type ipv4_addr; flags interval, timeout; }\n"
                "  set block_v6 { type ipv6_addr; flags interval, timeout; }\n"
                f"{chains}\n}}\n")

    def element_script(self, verb: str, target: IPNetwork, timeout_secs: int | None) -> str:
        """``add``/``delete element`` for one target (the timeout only on add)."""
        text = str(target.network_address) if target.prefixlen == target.max_prefixlen else str(target)
        timeout = f" timeout {timeout_secs}s" if timeout_secs else ""
        return f"{verb} element inet {self.table} {_set_of(target)} {{ {text}{timeout} }}\n"

    # -- the contract -------------------------------------------------------------------

    def run(self, request: ResponseRequest) -> ResponseResult:
        target = self.policy.enforce_block(request.value)  # never bypassed, whoever calls us
        duration = self.policy.block_duration(_int_or_none(request.params.get("duration_secs")))
        script = self.element_script("add", target, duration)
        if request.dry_run:
            return ResponseResult("dry_run", self._checked(self.table_script() + script))
        if not self._table_exists():
            self._apply(self.table_script())
        existing = self.elements(target.version)
        covering = sorted(e for e in existing if e.supernet_of(target))  # type: ignore[arg-type]
        if covering:
            return ResponseResult("already_done", f"{target} already blocked by {covering[0]} in {_set_of(target)}")
        # An interval set refuses overlapping elements: narrower blocks inside the new one give
        # way to it, in the same atomic script (they were blocking a part of it anyway).
        inside = sorted(e for e in existing if target.supernet_of(e))  # type: ignore[arg-type]
        self._apply("".join(self.element_script("delete", e, None) for e in inside) + script)
        replaced = f", replacing {', '.join(map(str, inside))}" if inside else ""
        return ResponseResult("done", f"{target} added to inet {self.table} {_set_of(target)} for {duration}s"
                                      f"{replaced}")

    def revert(self, request: ResponseRequest) -> ResponseResult:
        target = unblock_target(request.value)
        if request.dry_run:
            return ResponseResult("dry_run", self.element_script("delete", target, None))
        if not self._table_exists() or target not in self.elements(target.version):
            return ResponseResult("already_done", f"{target} not in {_set_of(target)} (expired or removed)")
        self._apply(self.element_script("delete", target, None))
        return ResponseResult("reverted", f"{target} removed from inet {self.table} {_set_of(target)}")

    # -- nft ------------------------------------------------------------------------------

    def elements(self, version: int) -> set[IPNetwork]:
        """The targets currently in the set of that IP version (from ``nft -j list set``)."""
        out = require_ok(self._nft("-j", "list", "set", "inet", self.table, f"block_v{version}"), "nft list set")
        found: set[IPNetwork] = set()
        for item in json.loads(out).get("nftables", []):
            for elem in item.get("set", {}).get("elem", []):
                found.add(_element_network(elem))
        return found

    def _table_exists(self) -> bool:
        return bool(self._nft("list", "table", "inet", self.table).returncode == 0)

    def _checked(self, script: str) -> str:
        require_ok(self._nft("-c", "-f", "-", stdin=script), "nft -c (check)")
        return script

    def _apply(self, script: str) -> None:
        self._checked(script)
        require_ok(self._nft("-f", "-", stdin=script), "nft -f")

    def _nft(self, *args: str, stdin: str | None = None) -> Any:
        return run_command([*netns_prefix(self.netns), self.nft, *args], stdin=stdin, timeout_secs=self.timeout_secs)


def _set_of(target: IPNetwork) -> str:
    return f"block_v{target.version}"


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _element_network(elem: Any) -> IPNetwork:
    """One set element of nft's JSON output: an address, a prefix, or either under ``elem``
    (elements with a timeout are wrapped as ``{"elem": {"val": ..., "timeout": ...}}``)."""
    if isinstance(elem, dict) and "elem" in elem:
        elem = elem["elem"]["val"]
    if isinstance(elem, dict) and "prefix" in elem:
        return parse_target(f"{elem['prefix']['addr']}/{elem['prefix']['len']}")
    return parse_target(str(elem))
