"""Read indicators from STIX 2.1, MISP events and feeds, CSV and plain lists.

Each reader yields :class:`~intel.indicators.Observation` values into an
:class:`ImportReport`, which also keeps what could not be used and why, with the file
and the place in it (object id, line): nothing is dropped without a word. STIX patterns
of the simple comparison forms (``[type:prop = 'v']``, OR-joined, and ``ISSUBSET`` for a
CIDR) become matchable observables; any other valid pattern is kept as a
``stix-pattern`` record and reported as not matchable.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import stix2
import stix2.exceptions

from intel.indicators import (
    DOMAIN,
    EMAIL,
    IPV4,
    IPV6,
    MD5,
    PATTERN,
    SHA1,
    SHA256,
    URL,
    Observation,
    canonical,
    guess_type,
    tlp_level,
)
from soc_core.errors import IntelError
from soc_core.event import parse_timestamp

# TLP marking-definition ids: TLP 2.0 (the OASIS extension) and TLP 1.0 (STIX 2.1 spec 7.2.1.4).
TLP_MARKING_IDS: Final = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "CLEAR",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "GREEN",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "AMBER",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "AMBER+STRICT",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "RED",
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
}

# STIX object paths we can match, to our types (hash names as the STIX vocabulary spells them).
_STIX_PATHS: Final = {
    "ipv4-addr:value": IPV4, "ipv6-addr:value": IPV6, "domain-name:value": DOMAIN, "url:value": URL,
    "email-addr:value": EMAIL, "file:hashes.md5": MD5, "file:hashes.sha-1": SHA1, "file:hashes.sha1": SHA1,
    "file:hashes.sha-256": SHA256, "file:hashes.sha256": SHA256,
}
_COMPARISON: Final = r"([a-z0-9-]+:[a-z0-9_.'-]+)\s*(=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'"
_SIMPLE_PATTERN: Final = re.compile(
    rf"^\[\s*{_COMPARISON}(\s+OR\s+{_COMPARISON})*\s*\](\s+OR\s+\[\s*{_COMPARISON}(\s+OR\s+{_COMPARISON})*\s*\])*$",
    re.IGNORECASE)
_ONE_COMPARISON: Final = re.compile(_COMPARISON, re.IGNORECASE)

# MISP attribute types we match (the part before "|" for composite types is the first value).
_MISP_TYPES: Final = {
    "ip-src": IPV4, "ip-dst": IPV4, "domain": DOMAIN, "hostname": DOMAIN, "url": URL, "md5": MD5, "sha1": SHA1,
    "sha256": SHA256, "email": EMAIL, "email-src": EMAIL, "email-dst": EMAIL,
}
_MISP_COMPOSITE: Final = {
    "ip-src|port": (IPV4, None), "ip-dst|port": (IPV4, None), "domain|ip": (DOMAIN, IPV4),
    "hostname|port": (DOMAIN, None), "filename|md5": (None, MD5), "filename|sha1": (None, SHA1),
    "filename|sha256": (None, SHA256),
}
_SOC_TAG: Final = re.compile(r'^soc:(confidence|valid-until)="([^"]*)"$')
_MISP_THREAT_CONFIDENCE: Final = {"1": 90, "2": 70, "3": 50, "4": 50}


@dataclass
class ImportReport:
    """What an import read: usable observations, kept-but-unmatchable patterns, problems."""

    observations: list[Observation] = field(default_factory=list)
    unmatchable: list[Observation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0

    def add(self, obs: Observation) -> None:
        (self.unmatchable if obs.type == PATTERN else self.observations).append(obs)


@dataclass(frozen=True)
class Defaults:
    """What the command line says about every indicator of the files (``--source``, ``--tlp``)."""

    source: str | None = None
    tlp: str | None = None
    confidence: int = 50


def _observation(kind: str, value: str, source: str, tlp: str, **kw: Any) -> Observation:
    actual, text = canonical(kind, value)
    return Observation(actual, text, source, tlp, **kw)


# --- STIX 2.1 ---------------------------------------------------------------------------


def _stix_tlp(obj: dict[str, Any], markings: dict[str, str], default: str) -> str:
    found = [markings.get(ref) or TLP_MARKING_IDS.get(ref) for ref in obj.get("object_marking_refs", [])]
    levels = [f for f in found if f]
    return max(levels, key=("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED").index) if levels else default


def _marking_level(obj: dict[str, Any]) -> str | None:
    """The TLP level a marking-definition object states (2.0 extension, name, or 1.0 definition)."""
    if obj["id"] in TLP_MARKING_IDS:
        return TLP_MARKING_IDS[obj["id"]]
    for ext in (obj.get("extensions") or {}).values():
        if isinstance(ext, dict) and "tlp_2_0" in ext:
            return tlp_level(str(ext["tlp_2_0"]))
    definition = obj.get("definition")
    if obj.get("definition_type") == "tlp" and isinstance(definition, dict) and "tlp" in definition:
        return tlp_level(str(definition["tlp"]))
    name = str(obj.get("name", ""))
    return tlp_level(name) if name.upper().startswith("TLP:") else None


def pattern_observables(pattern: str) -> list[tuple[str, str]] | None:
    """(type, value) pairs of a simple pattern, or None when it is not of a simple form."""
    if not _SIMPLE_PATTERN.match(pattern.strip()):
        return None
    out = []
    for path, op, raw in _ONE_COMPARISON.findall(pattern):
        kind = _STIX_PATHS.get(path.lower().replace("'", ""))
        if kind is None or (op.upper() == "ISSUBSET" and kind not in (IPV4, IPV6)):
            return None
        out.append((kind, raw.replace("\\'", "'").replace("\\\\", "\\")))
    return out


def read_stix(data: Any, where: str, defaults: Defaults, report: ImportReport) -> None:
    """A STIX 2.1 bundle, a TAXII envelope (``objects``) or a list of objects."""
    objects = data.get("objects", []) if isinstance(data, dict) else data
    if not isinstance(objects, list):
        raise IntelError(f"{where}: not a STIX bundle, envelope or list of objects")
    markings: dict[str, str] = {}
    identities: dict[str, str] = {}
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") == "marking-definition":
            level = _marking_level(obj)
            if level:
                markings[obj["id"]] = level
        elif isinstance(obj, dict) and obj.get("type") == "identity":
            identities[obj["id"]] = str(obj.get("name", ""))
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            report.skipped[str(obj.get("type") if isinstance(obj, dict) else type(obj).__name__)] += 1
            continue
        place = f"{where}: object {index} ({obj.get('id', '?')})"
        try:
            # The library checks the object and its pattern against STIX 2.1.
            parsed = stix2.parse(obj, allow_custom=True, version="2.1")
        except (stix2.exceptions.STIXError, ValueError) as exc:
            report.problems.append(f"{place}: {' '.join(str(exc).split())}")
            continue
        source = defaults.source or identities.get(str(obj.get("created_by_ref", ""))) or "stix"
        tlp = defaults.tlp or _stix_tlp(obj, markings, "CLEAR")
        common: dict[str, Any] = {
            "confidence": int(obj.get("confidence", defaults.confidence)),
            "first_seen": parse_timestamp(str(parsed.valid_from)),
            "last_seen": parse_timestamp(str(parsed.modified)),
            "valid_until": parse_timestamp(str(obj["valid_until"])) if obj.get("valid_until") else None,
            "reference": str(obj["id"]), "labels": tuple(obj.get("labels", ())) + tuple(obj.get("indicator_types", ())),
            "description": str(obj.get("description", "")),
        }
        pairs = pattern_observables(str(obj["pattern"])) if obj.get("pattern_type") == "stix" else None
        if pairs is None:
            report.add(Observation(PATTERN, str(obj["pattern"]), source, tlp, **common))
            continue
        for kind, value in pairs:
            try:
                report.add(_observation(kind, value, source, tlp, **common))
            except IntelError as exc:
                report.problems.append(f"{place}: {exc}")


# --- MISP -------------------------------------------------------------------------------


def _misp_tlp(tags: Any, default: str) -> str | None:
    for tag in tags or []:
        name = str(tag.get("name", "")) if isinstance(tag, dict) else ""
        if name.lower().startswith("tlp:"):
            try:
                return tlp_level(name)
            except IntelError:
                continue
    return default or None


def _epoch(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return parse_timestamp(int(value)) if str(value).isdigit() else parse_timestamp(str(value))


def read_misp_event(data: Any, where: str, defaults: Defaults, report: ImportReport) -> None:
    """One MISP event (``{"Event": {...}}`` or the bare event), its attributes and objects' attributes."""
    event = data.get("Event", data) if isinstance(data, dict) else None
    if not isinstance(event, dict):
        raise IntelError(f"{where}: not a MISP event")
    source = defaults.source or str((event.get("Orgc") or {}).get("name") or "misp")
    event_tlp = defaults.tlp or _misp_tlp(event.get("Tag"), "") or "CLEAR"
    confidence = _MISP_THREAT_CONFIDENCE.get(str(event.get("threat_level_id")), defaults.confidence)
    attributes = list(event.get("Attribute") or [])
    for obj in event.get("Object") or []:
        attributes.extend(obj.get("Attribute") or [])
    event_date = _epoch(event.get("date"))
    for attr in attributes:
        kind = str(attr.get("type", ""))
        if not attr.get("to_ids", True):
            report.skipped[f"misp {kind} (to_ids false)"] += 1
            continue
        values = str(attr.get("value", ""))
        if kind in _MISP_TYPES:
            pairs = [(_MISP_TYPES[kind], values)]
        elif kind in _MISP_COMPOSITE:
            parts = values.split("|", 1)
            pairs = [(t, v) for t, v in zip(_MISP_COMPOSITE[kind], parts, strict=False) if t]
        else:
            report.skipped[f"misp {kind}"] += 1
            continue
        seen = _epoch(attr.get("last_seen")) or _epoch(attr.get("timestamp")) or event_date
        names = [str(t.get("name", "")) for t in attr.get("Tag") or [] if isinstance(t, dict)]
        machine: dict[str, str] = {m[1]: m[2] for n in names if (m := _SOC_TAG.match(n))}  # our export's tags
        common: dict[str, Any] = {
            "confidence": int(machine.get("confidence", confidence)),
            "first_seen": _epoch(attr.get("first_seen")) or event_date or seen,
            "last_seen": seen, "valid_until": _epoch(machine.get("valid-until")),
            "reference": str(attr.get("uuid", "")), "description": str(attr.get("comment", "")),
            "labels": tuple(n for n in names if not n.lower().startswith(("tlp:", "soc:"))),
        }
        tlp = defaults.tlp or _misp_tlp(attr.get("Tag"), event_tlp) or event_tlp
        for t, v in pairs:
            try:
                report.add(_observation(t, v, source, tlp, **common))
            except IntelError as exc:
                report.problems.append(f"{where}: attribute {attr.get('uuid', '?')}: {exc}")


def read_misp_feed(directory: Path, defaults: Defaults, report: ImportReport) -> None:
    """A MISP feed directory: ``manifest.json`` naming events, one ``<uuid>.json`` each."""
    manifest = _load_json(directory / "manifest.json")
    if not isinstance(manifest, dict):
        raise IntelError(f"{directory / 'manifest.json'}: not a MISP feed manifest")
    for uuid in manifest:
        path = directory / f"{uuid}.json"
        if not path.is_file():
            report.skipped["misp feed events listed but absent"] += 1
            continue
        report.files += 1
        read_misp_event(_load_json(path), str(path), defaults, report)


def is_misp_feed(directory: Path) -> bool:
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return False
    data = _load_json(manifest)
    return isinstance(data, dict) and bool(data) and all(isinstance(v, dict) and "info" in v for v in data.values())


# --- CSV and plain lists ----------------------------------------------------------------


def read_csv(text: str, where: str, defaults: Defaults, report: ImportReport) -> None:
    """CSV with a header naming ``value`` (and optionally ``type``, ``confidence``,
    ``tlp``, ``source``, ``first_seen``, ``last_seen``, ``valid_until``, ``description``)."""
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower(): f for f in reader.fieldnames or []}
    if "value" not in fields:
        raise IntelError(f"{where}: a CSV file needs a header with a 'value' column")

    def col(row: dict[str, str], name: str) -> str:
        return (row.get(fields.get(name, ""), "") or "").strip()

    for row in reader:
        line = reader.line_num
        try:
            value = col(row, "value")
            kind = col(row, "type") or guess_type(value)
            tlp = defaults.tlp or (tlp_level(col(row, "tlp")) if col(row, "tlp") else "CLEAR")
            stamps = {k: parse_timestamp(col(row, k)) if col(row, k) else None
                      for k in ("first_seen", "last_seen", "valid_until")}
            confidence = int(col(row, "confidence")) if col(row, "confidence") else defaults.confidence
            source = defaults.source or col(row, "source") or Path(where).stem
            report.add(_observation(kind, value, source, tlp, confidence=confidence,
                                    description=col(row, "description"), **stamps))
        except (IntelError, ValueError) as exc:
            report.problems.append(f"{where}:{line}: {exc}")


def read_plain(text: str, where: str, defaults: Defaults, report: ImportReport) -> None:
    """One observable per line; ``#`` starts a comment; the type is recognised from the value."""
    source = defaults.source or Path(where).stem
    for number, line in enumerate(text.splitlines(), 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        try:
            report.add(_observation(guess_type(value), value, source, defaults.tlp or "CLEAR",
                                    confidence=defaults.confidence))
        except IntelError as exc:
            report.problems.append(f"{where}:{number}: {exc}")


# --- files and directories --------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise IntelError(f"{path}: {exc}") from None


def read_path(path: Path, defaults: Defaults, report: ImportReport) -> None:
    """A file (format from its content) or a directory (a MISP feed, or every file in it)."""
    if path.is_dir():
        if is_misp_feed(path):
            read_misp_feed(path, defaults, report)
            return
        for child in sorted(p for p in path.iterdir() if not p.name.startswith(".")):
            if child.is_dir() or child.suffix.lower() in (".json", ".csv", ".txt", ".list"):
                read_path(child, defaults, report)
        return
    report.files += 1
    if path.suffix.lower() == ".json":
        data = _load_json(path)
        if isinstance(data, dict) and ("Event" in data or "Attribute" in data):
            read_misp_event(data, str(path), defaults, report)
        elif isinstance(data, dict) and data.get("type") != "bundle" and "objects" not in data:
            report.skipped[f"json without STIX or MISP content ({path.name})"] += 1
        else:
            read_stix(data, str(path), defaults, report)
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IntelError(f"{path}: {exc}") from None
    first = next(iter(text.splitlines()), "")
    if path.suffix.lower() == ".csv" and "value" in first.lower().split(","):
        read_csv(text, str(path), defaults, report)
    elif path.suffix.lower() == ".csv" and "," in first:
        report.skipped[f"csv without a 'value' header ({path.name})"] += 1
    else:
        read_plain(text, str(path), defaults, report)

