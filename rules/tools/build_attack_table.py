"""Build ``rules/data/attack.json``: the small ATT&CK lookup the alert builder ships.

Reads the Enterprise ATT&CK STIX bundle (``enterprise-attack.assembled.json.gz`` in the
shared corpus) and keeps, for every non-revoked tactic and technique, its id, name,
reference URL and (for techniques) the tactic short names: everything needed to turn a
Sigma tag such as ``attack.t1059.001`` or ``attack.execution`` into ECS ``threat.*``.

    python -m rules.tools.build_attack_table [BUNDLE] [OUTPUT]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUNDLE = ROOT.parent / "shared" / "corpus" / "stix_misp" / "mitre-cti" / "enterprise-attack.assembled.json.gz"
DEFAULT_OUTPUT = ROOT / "rules" / "data" / "attack.json"


def _mitre_ref(obj: dict[str, Any]) -> tuple[str, str] | None:
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"]), str(ref.get("url", ""))
    return None


def build_table(bundle: dict[str, Any]) -> dict[str, Any]:
    """The lookup table from a STIX bundle (deterministic: sorted keys)."""
    tactics: dict[str, dict[str, str]] = {}
    techniques: dict[str, dict[str, Any]] = {}
    version = ""
    for obj in bundle.get("objects", []):
        if obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        kind = obj.get("type")
        if kind == "x-mitre-collection":
            version = str(obj.get("x_mitre_version", ""))
        ref = _mitre_ref(obj)
        if ref is None:
            continue
        ext_id, url = ref
        if kind == "x-mitre-tactic":
            tactics[str(obj["x_mitre_shortname"])] = {"id": ext_id, "name": str(obj["name"]), "reference": url}
        elif kind == "attack-pattern":
            phases = sorted({
                str(p["phase_name"]) for p in obj.get("kill_chain_phases", [])
                if p.get("kill_chain_name") == "mitre-attack"
            })
            techniques[ext_id] = {"name": str(obj["name"]), "reference": url, "tactics": phases}
    return {
        "source": "MITRE ATT&CK Enterprise (STIX), mitre/cti",
        "version": version,
        "tactics": dict(sorted(tactics.items())),
        "techniques": dict(sorted(techniques.items())),
    }


def main(argv: list[str]) -> int:
    bundle_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_BUNDLE
    output = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUTPUT
    with gzip.open(bundle_path, "rt", encoding="utf-8") as stream:
        bundle = json.load(stream)
    table = build_table(bundle)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(table, indent=0, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{output}: {len(table['tactics'])} tactics, {len(table['techniques'])} techniques")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
