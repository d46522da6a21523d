"""Which fields of an alert name an entity, which side of an attack each is on, and ATT&CK order.

*Actor* entities (the attacking address, a malware file's hash) link an alert to an incident that
saw the same value as an actor. *Target* entities (the attacked address, host, account) link only an
alert that names no attacking address of its own (antivirus on a host, a local privilege escalation),
because a server that many attackers hit must not glue their incidents together (docs/incidents.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from soc_core.event import get_field

ACTOR_FIELDS: tuple[str, ...] = ("source.ip", "file.hash.sha256")
TARGET_FIELDS: tuple[str, ...] = ("destination.ip", "host.ip", "host.name", "host.hostname", "user.name")
ENTITY_FIELDS: tuple[str, ...] = ACTOR_FIELDS + TARGET_FIELDS
# Addresses of the attacked side are one entity whichever field carries them: a web server is
# ``destination.ip`` in the WAF's log and ``host.ip`` in its own antivirus' log.
SAME_ENTITY: Mapping[str, tuple[str, ...]] = {
    "destination.ip": ("destination.ip", "host.ip"),
    "host.ip": ("host.ip", "destination.ip"),
    # Syslog-borne events name the host in host.hostname, agents and EDRs in host.name.
    "host.name": ("host.name", "host.hostname"),
    "host.hostname": ("host.hostname", "host.name"),
}

# The enterprise ATT&CK tactics in kill-chain order: progress is measured along it.
KILL_CHAIN: tuple[str, ...] = (
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
    "collection", "command-and-control", "exfiltration", "impact",
)
_TACTIC_RANK = {name: i for i, name in enumerate(KILL_CHAIN)}


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, str | int) and not isinstance(v, bool) and str(v) not in ("", "-")]


def entities_of(alert: Mapping[str, Any]) -> dict[str, list[str]]:
    """ECS field -> the alert's values there, for every entity field it has."""
    found: dict[str, list[str]] = {}
    for field in ENTITY_FIELDS:
        values = sorted(set(_values(get_field(alert, field))))
        if values:
            found[field] = values
    categories = _values(get_field(alert, "event.category"))
    if "malware" in categories and "destination.ip" not in found and "source.ip" in found:
        # An endpoint product's ``source.ip`` is the endpoint's own address (Falcon, Defender):
        # the infected host, a target, not an attacker.
        found["host.ip"] = sorted({*found.get("host.ip", []), *found.pop("source.ip")})
    return found


def tactic_shortname(name: str) -> str:
    """``Credential Access`` -> ``credential-access``."""
    return name.strip().lower().replace(" ", "-").replace("_", "-")


def tactics_of(alert: Mapping[str, Any]) -> list[str]:
    """The alert's ATT&CK tactics (shortnames), from ``threat.tactic.name`` or ``attack.*`` tags."""
    names = [tactic_shortname(n) for n in _values(get_field(alert, "threat.tactic.name"))]
    if not names:
        tags = get_field(alert, "tags")
        for tag in tags if isinstance(tags, list) else []:
            short = tactic_shortname(str(tag).removeprefix("attack."))
            if str(tag).startswith("attack.") and short in _TACTIC_RANK:
                names.append(short)
    return ordered_tactics(names)


def techniques_of(alert: Mapping[str, Any]) -> list[str]:
    """ATT&CK technique and sub-technique ids of the alert."""
    ids = _values(get_field(alert, "threat.technique.id")) + _values(
        get_field(alert, "threat.technique.subtechnique.id"))
    return sorted(set(ids))


def ordered_tactics(names: list[str]) -> list[str]:
    """Known tactics in kill-chain order, once each (unknown names dropped)."""
    return sorted({n for n in names if n in _TACTIC_RANK}, key=_TACTIC_RANK.__getitem__)


def progress(tactics: list[str]) -> int:
    """How far along the kill chain: the number of distinct stages seen."""
    return len(ordered_tactics(tactics))
