"""Safeguards: the one place that decides whether a response action may touch a target.

Every blocking responder calls :meth:`SafeguardPolicy.enforce_block` itself before it acts
(so a responder called directly cannot skip it), and the action executor
(:mod:`playbooks.executor`) checks the stateful safeguards around it: the block rate limit,
dry-run, approval for high-impact actions and automatic expiry. A refusal names the
safeguard that refused, so ``soc playbooks simulate`` and the audit trail can say why.

What can never be blocked:
- addresses that are never an attacker's: loopback, link-local, multicast, unspecified,
  broadcast (built in, not configurable away);
- the configured never-block sets: the SOC's own networks, gateways, DNS servers, the
  national center's addresses and protected assets — a block *overlapping* any of them is
  refused, so a wide network that contains a gateway is refused too;
- networks wider than the configured prefix limit (``/24`` for IPv4 and ``/64`` for IPv6 by
  default).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from soc_core.errors import ConfigError, PermanentError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Categories of the never-block sets, in the words of the SOC's configuration file.
CATEGORIES: tuple[str, ...] = ("own_networks", "gateways", "dns_servers", "national_center", "protected_assets")

# Addresses that are never an attacker's address to block, whatever the configuration says.
_BUILTIN_NEVER: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"), ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"), ("255.255.255.255/32", "broadcast"),
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("fe80::/10", "link-local"), ("ff00::/8", "multicast"),
)


class SafeguardRefused(PermanentError):
    """A safeguard refused an action; ``safeguard`` names which one (never retried)."""

    def __init__(self, safeguard: str, reason: str) -> None:
        self.safeguard = safeguard
        self.reason = reason
        super().__init__(f"refused by safeguard {safeguard}: {reason}")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one safeguard refuses one action."""

    safeguard: str
    reason: str

    def error(self) -> SafeguardRefused:
        return SafeguardRefused(self.safeguard, self.reason)


@dataclass(frozen=True, slots=True)
class ProtectedNetwork:
    """One entry of a never-block set."""

    network: IPNetwork
    category: str
    label: str = ""


def parse_target(value: str) -> IPNetwork:
    """An address or CIDR network to block; raises ``ValueError`` on anything else.

    Host bits set in a CIDR (``10.0.0.1/8``) are refused rather than silently widened."""
    text = value.strip()
    if not text:
        raise ValueError("empty address")
    return ipaddress.ip_network(text, strict=True)


def unblock_target(value: str) -> IPNetwork:
    """The target of an unblock (no safeguard applies to lifting a block); a value that is
    not an address or network is a :class:`PermanentError`."""
    try:
        return parse_target(value)
    except ValueError as exc:
        raise PermanentError(f"cannot unblock {value!r}: {exc}") from None


@dataclass(frozen=True)
class SafeguardPolicy:
    """The configured safeguards (immutable; built from a YAML file or keyword arguments)."""

    never_block: tuple[ProtectedNetwork, ...] = ()
    max_prefix_v4: int = 24
    max_prefix_v6: int = 64
    max_blocks_per_window: int = 50
    rate_window_secs: int = 3600
    default_block_secs: int = 3600
    max_block_secs: int = 7 * 86400
    dry_run: bool = False
    approval_required: frozenset[str] = field(default_factory=lambda: frozenset({"isolate_host"}))

    def __post_init__(self) -> None:
        if not 0 <= self.max_prefix_v4 <= 32 or not 0 <= self.max_prefix_v6 <= 128:
            raise ConfigError("max_prefix_v4 must be 0..32 and max_prefix_v6 0..128")
        if self.max_blocks_per_window < 0 or self.rate_window_secs <= 0:
            raise ConfigError("max_blocks_per_window must be >= 0 and rate_window_secs > 0")
        if not 0 < self.default_block_secs <= self.max_block_secs:
            raise ConfigError("default_block_secs must be > 0 and <= max_block_secs")

    # -- stateless checks (every blocking responder runs these itself) ------------------

    def block_refusals(self, value: str) -> list[Refusal]:
        """Every reason the policy refuses to block ``value`` (empty: allowed)."""
        try:
            target = parse_target(value)
        except ValueError as exc:
            return [Refusal("valid_target", f"{value!r} is not an IP address or network: {exc}")]
        refusals: list[Refusal] = []
        limit = self.max_prefix_v4 if target.version == 4 else self.max_prefix_v6
        if target.prefixlen < limit:
            refusals.append(Refusal(
                "cidr_width_limit", f"{target} is wider than the limit /{limit} for IPv{target.version}"))
        for entry in self._all_protected():
            if entry.network.version == target.version and entry.network.overlaps(target):
                what = f"{entry.category}" + (f" ({entry.label})" if entry.label else "")
                refusals.append(Refusal("never_block", f"{target} overlaps {entry.network}: {what}"))
                break
        return refusals

    def enforce_block(self, value: str) -> IPNetwork:
        """The parsed target, or :class:`SafeguardRefused` naming the first refusing safeguard."""
        refusals = self.block_refusals(value)
        if refusals:
            raise refusals[0].error()
        return parse_target(value)

    def block_duration(self, requested_secs: int | None) -> int:
        """The duration a block really gets: the default when none is asked, never above the
        maximum (every block expires: none is permanent)."""
        if requested_secs is None or requested_secs <= 0:
            return self.default_block_secs
        return min(int(requested_secs), self.max_block_secs)

    def needs_approval(self, step_type: str, step_asks: bool) -> bool:
        """High-impact step types always wait for an analyst; a playbook may ask for more."""
        return step_asks or step_type in self.approval_required

    def rate_refusal(self, blocks_in_window: int) -> Refusal | None:
        """A refusal when ``blocks_in_window`` blocks already ran within the rate window."""
        if blocks_in_window >= self.max_blocks_per_window:
            return Refusal("block_rate_limit",
                           f"{blocks_in_window} blocks in the last {self.rate_window_secs}s "
                           f"(limit {self.max_blocks_per_window})")
        return None

    def _all_protected(self) -> Iterable[ProtectedNetwork]:
        for cidr, label in _BUILTIN_NEVER:
            yield ProtectedNetwork(ipaddress.ip_network(cidr), "reserved", label)
        yield from self.never_block

    def with_never_block(self, extra: Iterable[ProtectedNetwork]) -> SafeguardPolicy:
        """A copy with more never-block entries (the CLI's ``--never-block``)."""
        return replace(self, never_block=(*self.never_block, *extra))

    # -- configuration ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<safeguards>") -> SafeguardPolicy:
        """Build from the configuration structure (see ``docs/responders.md``)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: safeguards must be a mapping")
        known = {"never_block", "max_prefix_v4", "max_prefix_v6", "max_blocks_per_window", "rate_window_secs",
                 "default_block_secs", "max_block_secs", "dry_run", "approval_required"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown safeguard settings {unknown}")
        entries: list[ProtectedNetwork] = []
        never = data.get("never_block") or {}
        if not isinstance(never, Mapping):
            raise ConfigError(f"{source}: never_block must map categories to address lists")
        for category, items in never.items():
            if category not in CATEGORIES:
                raise ConfigError(f"{source}: unknown never_block category {category!r} (use {', '.join(CATEGORIES)})")
            for item in items or []:
                cidr, label = (item.get("cidr"), str(item.get("label", ""))) if isinstance(item, Mapping) \
                    else (item, "")
                try:
                    network = ipaddress.ip_network(str(cidr), strict=False)
                except ValueError as exc:
                    raise ConfigError(f"{source}: never_block.{category}: {exc}") from None
                entries.append(ProtectedNetwork(network, category, label))
        kwargs: dict[str, Any] = {k: data[k] for k in known - {"never_block", "approval_required"} if k in data}
        if "approval_required" in data:
            kwargs["approval_required"] = frozenset(str(x) for x in data["approval_required"] or [])
        try:
            return cls(never_block=tuple(entries), **kwargs)
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> SafeguardPolicy:
        """Load a YAML safeguards file."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return cls.from_dict(data, str(path))


def protected(cidrs: Iterable[str], category: str = "protected_assets", label: str = "") -> list[ProtectedNetwork]:
    """Never-block entries from address strings (raises ``ConfigError`` on a bad one)."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ProtectedNetwork(ipaddress.ip_network(cidr, strict=False), category, label))
        except ValueError as exc:
            raise ConfigError(f"never-block {cidr!r}: {exc}") from None
    return out

