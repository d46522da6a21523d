"""What may leave, and in which form: TLP policy per partner and STIX 2.1 output.

TLP 2.0 (FIRST) applied to a partner: nothing ``RED`` ever leaves; ``AMBER`` and
``AMBER+STRICT`` only to partners named for it; ``CLEAR`` and ``GREEN`` to any partner
(our partners are a closed community). :func:`shareable` is the one gate every export
passes through. STIX output: one ``indicator`` per record, deterministic ids (UUIDv5 of
the record id, so pushing twice sends the same object), the TLP 2.0 marking-definition
objects (OASIS TLP 2.0 extension) the indicators refer to, and our identity.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import stix2

from intel.indicators import EMAIL, MD5, SHA1, SHA256, TYPES, tlp_rank
from soc_core.errors import IntelError

_TLP2_EXTENSION: Final = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKING_IDS: Final = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
_NAMESPACE: Final = uuid.UUID("6f0d7a4e-5b1c-4c8e-9a57-0c0f4b1d2e14")  # ours: ids of our STIX objects
_PATH: Final = {"ipv4-addr": "ipv4-addr:value", "ipv6-addr": "ipv6-addr:value", "domain-name": "domain-name:value",
                "url": "url:value", EMAIL: "email-addr:value", MD5: "file:hashes.MD5", SHA1: "file:hashes.'SHA-1'",
                SHA256: "file:hashes.'SHA-256'"}


@dataclass(frozen=True)
class Partner:
    """A peer we share with; ``amber``: named for TLP:AMBER (and AMBER+STRICT)."""

    name: str
    amber: bool = False


def shareable(record: dict[str, Any], partner: Partner) -> bool:
    """Whether ``record`` may be sent to ``partner`` under its TLP marking."""
    tlp = str(record.get("tlp", "RED"))
    if tlp not in TLP2_MARKING_IDS or tlp == "RED":
        return False
    return tlp_rank(tlp) <= tlp_rank("GREEN") or partner.amber


def tlp_marking(level: str) -> dict[str, Any]:
    """The TLP 2.0 marking-definition object of ``level`` (as the OASIS extension defines it)."""
    return {"type": "marking-definition", "spec_version": "2.1", "id": TLP2_MARKING_IDS[level],
            "created": "2022-10-01T00:00:00.000Z", "name": f"TLP:{level}",
            "extensions": {_TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.lower()}}}


def identity(name: str) -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00.000Z"
    return {"type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid5(_NAMESPACE, 'identity:' + name)}",
            "created": stamp, "modified": stamp, "name": name, "identity_class": "organization"}


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def to_stix(record: dict[str, Any], creator_ref: str) -> dict[str, Any]:
    """One indicator record as a STIX 2.1 indicator (checked by the ``stix2`` library)."""
    if record.get("type") not in TYPES:
        raise IntelError(f"indicator {record.get('id')}: type {record.get('type')!r} has no STIX pattern of ours")
    value = str(record["value"])
    op = "ISSUBSET" if record["type"] in ("ipv4-addr", "ipv6-addr") and "/" in value else "="
    modified = str(record.get("last_seen") or record.get("first_seen"))
    first = str(record.get("first_seen") or modified)
    obj: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(_NAMESPACE, str(record['id']))}",
        "created": first, "modified": max(first, modified), "name": value,
        "description": f"{record['type']} reported by {', '.join(sorted(record.get('sources', {})))}",
        "indicator_types": ["malicious-activity"], "pattern": f"[{_PATH[record['type']]} {op} '{_quote(value)}']",
        "pattern_type": "stix", "pattern_version": "2.1", "valid_from": first,
        "confidence": int(record.get("confidence", 50)), "created_by_ref": creator_ref,
        "object_marking_refs": [TLP2_MARKING_IDS[str(record["tlp"])]],
    }
    if record.get("labels"):
        obj["labels"] = list(record["labels"])
    if record.get("valid_until") and str(record["valid_until"]) > first:
        obj["valid_until"] = record["valid_until"]
    stix2.parse(obj, allow_custom=False, version="2.1")  # refuses what is not valid STIX 2.1
    return obj


def bundle_for(records: Iterable[dict[str, Any]], partner: Partner, our_name: str) -> tuple[dict[str, Any], list[str]]:
    """A STIX bundle of what ``partner`` may receive, and the ids of the records left out."""
    me = identity(our_name)
    objects: list[dict[str, Any]] = []
    withheld: list[str] = []
    levels: set[str] = set()
    for record in records:
        if record.get("type") not in TYPES or not shareable(record, partner):
            withheld.append(str(record.get("id")))
            continue
        objects.append(to_stix(record, me["id"]))
        levels.add(str(record["tlp"]))
    markings = [tlp_marking(level) for level in sorted(levels, key=tlp_rank)]
    bundle_id = f"bundle--{uuid.uuid5(_NAMESPACE, 'bundle:' + ','.join(o['id'] for o in objects))}"
    return {"type": "bundle", "id": bundle_id, "objects": [me, *markings, *objects]}, withheld
