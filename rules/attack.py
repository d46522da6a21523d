"""ATT&CK lookups for alerts: Sigma ``attack.*`` tags to ECS ``threat.*`` fields.

The table (``rules/data/attack.json``) is generated from the corpus STIX bundle by
``rules/tools/build_attack_table.py``; it is small and read once per detector.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "attack.json"


@dataclass(frozen=True)
class AttackTable:
    """Tactics by short name (``defense-evasion``) and techniques by id (``T1059.001``)."""

    tactics: Mapping[str, Mapping[str, str]]
    techniques: Mapping[str, Mapping[str, Any]]

    def tactic_by_id(self, tactic_id: str) -> tuple[str, Mapping[str, str]] | None:
        for short, info in self.tactics.items():
            if info["id"] == tactic_id:
                return short, info
        return None

    def threat(self, tags: Iterable[str]) -> dict[str, Any]:
        """ECS ``threat`` for Sigma tags; empty when no tag names ATT&CK content.

        Tactics come from ``attack.<tactic>`` tags and, when none is given, from the
        techniques' own kill-chain phases. Sub-techniques are listed under
        ``threat.technique.subtechnique`` next to their parent technique.
        """
        tactic_names: list[str] = []
        technique_ids: list[str] = []
        for raw in tags:
            tag = raw.lower()
            if not tag.startswith("attack."):
                continue
            name = tag[len("attack."):]
            if name.startswith("t") and name[1:2].isdigit():
                tid = name.upper()
                if tid in self.techniques and tid not in technique_ids:
                    technique_ids.append(tid)
            elif name.startswith("ta") and name[2:3].isdigit():
                hit = self.tactic_by_id(name.upper())
                if hit and hit[0] not in tactic_names:
                    tactic_names.append(hit[0])
            else:
                short = name.replace("_", "-")
                if short in self.tactics and short not in tactic_names:
                    tactic_names.append(short)
        if not tactic_names:
            for tid in technique_ids:
                for short in self.techniques[tid].get("tactics", []):
                    if short not in tactic_names and short in self.tactics:
                        tactic_names.append(short)
        if not tactic_names and not technique_ids:
            return {}
        threat: dict[str, Any] = {"framework": "MITRE ATT&CK"}
        if tactic_names:
            threat["tactic"] = {
                "id": [self.tactics[t]["id"] for t in tactic_names],
                "name": [self.tactics[t]["name"] for t in tactic_names],
                "reference": [self.tactics[t]["reference"] for t in tactic_names],
            }
        parents = [t for t in technique_ids if "." not in t]
        subs = [t for t in technique_ids if "." in t]
        for sub in subs:
            parent = sub.split(".")[0]
            if parent not in parents and parent in self.techniques:
                parents.append(parent)
        if parents:
            threat["technique"] = {
                "id": parents,
                "name": [self.techniques[t]["name"] for t in parents],
                "reference": [self.techniques[t]["reference"] for t in parents],
            }
            if subs:
                threat["technique"]["subtechnique"] = {
                    "id": subs,
                    "name": [self.techniques[t]["name"] for t in subs],
                    "reference": [self.techniques[t]["reference"] for t in subs],
                }
        return threat


def load_attack_table(path: Path = DATA_FILE) -> AttackTable:
    """Read the shipped (or a given) lookup table."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return AttackTable(tactics=data["tactics"], techniques=data["techniques"])
