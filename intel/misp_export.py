"""A MISP feed directory of our indicators, which MISP can subscribe to and we re-import unchanged.

Layout as MISP's own feed generator writes it: ``manifest.json`` (event uuid -> event
summary), one ``<uuid>.json`` per event (``{"Event": {...}}``), and ``hashes.csv``
(MD5 of each attribute value, event uuid). One event per TLP level (tagged ``tlp:...``),
one attribute per indicator with a deterministic uuid, ``to_ids`` set, ``first_seen`` and
``last_seen``, and machine tags for what MISP has no attribute field for:
``soc:confidence="N"`` and ``soc:valid-until="T"`` (read back by the importer). The TLP
gate of :mod:`intel.sharing` decides what goes in.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from intel.indicators import DOMAIN, EMAIL, IPV4, IPV6, MD5, SHA1, SHA256, TYPES, URL, tlp_rank
from intel.sharing import Partner, shareable
from soc_core.event import parse_timestamp

_NAMESPACE: Final = uuid.UUID("0b8f6f4c-3a53-4d0b-bb8b-6f3e4f1f5a21")
_MISP_TYPE: Final = {IPV4: "ip-dst", IPV6: "ip-dst", DOMAIN: "domain", URL: "url", EMAIL: "email",
                     MD5: "md5", SHA1: "sha1", SHA256: "sha256"}
_CATEGORY: Final = {MD5: "Payload delivery", SHA1: "Payload delivery", SHA256: "Payload delivery",
                    EMAIL: "Payload delivery"}


def _epoch(stamp: str) -> str:
    return str(int(parse_timestamp(stamp).timestamp()))


def _attribute(record: dict[str, Any]) -> dict[str, Any]:
    tags = [{"name": f'soc:confidence="{int(record.get("confidence", 50))}"'}]
    if record.get("valid_until"):
        tags.append({"name": f'soc:valid-until="{record["valid_until"]}"'})
    tags += [{"name": label} for label in record.get("labels", [])]
    attr: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_NAMESPACE, str(record["id"]))), "type": _MISP_TYPE[record["type"]],
        "category": _CATEGORY.get(record["type"], "Network activity"), "to_ids": True,
        "value": record["value"], "timestamp": _epoch(str(record["last_seen"])),
        "first_seen": record["first_seen"], "last_seen": record["last_seen"], "distribution": "5",
        "comment": f"sources: {', '.join(sorted(record.get('sources', {})))}", "Tag": tags,
    }
    return attr


def export_feed(records: Iterable[dict[str, Any]], directory: Path, partner: Partner,
                our_name: str) -> tuple[int, int]:
    """Write the feed; (indicators written, indicators withheld by TLP)."""
    by_level: dict[str, list[dict[str, Any]]] = {}
    withheld = 0
    for record in records:
        if record.get("type") not in TYPES:
            continue
        if not shareable(record, partner):
            withheld += 1
            continue
        by_level.setdefault(str(record["tlp"]), []).append(record)
    directory.mkdir(parents=True, exist_ok=True)
    org = {"name": our_name, "uuid": str(uuid.uuid5(_NAMESPACE, "org:" + our_name))}
    manifest: dict[str, Any] = {}
    hashes: list[str] = []
    written = 0
    for level in sorted(by_level, key=tlp_rank):
        items = sorted(by_level[level], key=lambda r: (r["type"], r["value"]))
        event_uuid = str(uuid.uuid5(_NAMESPACE, f"event:{our_name}:{level}"))
        last = max(str(r["last_seen"]) for r in items)
        tags = [{"name": f"tlp:{level.lower()}"}]
        summary = {"info": f"{our_name} indicators TLP:{level}", "date": last[:10], "timestamp": _epoch(last),
                   "threat_level_id": "4", "analysis": "2", "distribution": "0", "Orgc": org, "Tag": tags}
        attributes = [_attribute(r) for r in items]
        event = {"Event": {"uuid": event_uuid, "published": True, **summary, "Attribute": attributes}}
        (directory / f"{event_uuid}.json").write_text(json.dumps(event, indent=1, sort_keys=True))
        manifest[event_uuid] = summary
        hashes += [f"{hashlib.md5(str(a['value']).encode(), usedforsecurity=False).hexdigest()},{event_uuid}"
                   for a in attributes]
        written += len(items)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    (directory / "hashes.csv").write_text("".join(line + "\n" for line in hashes))
    return written, withheld
