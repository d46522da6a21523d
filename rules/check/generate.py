"""Build the offline data files of ``soc rules check`` from the shared corpus.

pySigma's validators download their data at run time; we ship it instead (``data/``),
generated here from sources we already hold, so that checks run offline and the same
everywhere:

* ``sigmahq_taxonomy.json``: field names per logsource, from SigmaHQ's own
  ``tests/logsource.json`` (the list SigmaHQ's CI checks field names against), every
  logsource that a SigmaHQ rule uses (known, fields unchecked), our ECS logsources from
  ``rules.sigma.logsource``, and, where a logsource has a field list, the ECS paths our
  field map accepts there (as ``custom``), so rules written with ECS names pass;
* ``sigmahq_filename.json``: the file name prefix per logsource, derived from how SigmaHQ
  names its rule files (the common prefix of every file of a logsource, to the last ``_``);
* ``sigmahq_windows_eventid.json``: Windows categories that must not test ``EventID``
  (those the Sysmon pipeline maps to event ids itself, from ``sigma.pipelines.sysmon``);
* ``sigmahq_windows_provider.json``: providers implied by a category (Sysmon categories);
* ``mitre_attack.json``: the ATT&CK objects pySigma's tag validators read (tactics,
  techniques, groups, software, data sources, mitigations), cut down from the corpus
  Enterprise ATT&CK bundle to the fields they use.

Run: ``python -m rules.check.generate [CORPUS]`` (default: ``../shared/corpus``).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping

from rules.sigma.fieldmap import ECS_COMMON, ECS_FIELDS
from rules.sigma.logsource import ECS_LOGSOURCES

DATA_DIR = Path(__file__).resolve().parent / "data"
SIGMAHQ_TREES = ("rules", "rules-compliance", "rules-emerging-threats", "rules-placeholder", "rules-threat-hunting")
ATTACK_TYPES = frozenset({
    "x-mitre-collection", "x-mitre-tactic", "attack-pattern", "intrusion-set", "malware", "tool",
    "x-mitre-data-source", "course-of-action",
})
Logsource = tuple[str | None, str | None, str | None]

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # libyaml missing: correct, only slower
    _Loader = yaml.SafeLoader


def _key(ls: Logsource) -> str:
    return f"{ls[0]}_{ls[1]}_{ls[2]}"


def _entry(ls: Logsource) -> dict[str, str]:
    return {k: v for k, v in zip(("product", "category", "service"), ls, strict=True) if v}


def sigmahq_rules(sigmahq: Path) -> Iterator[tuple[Path, Logsource]]:
    """Every SigmaHQ rule file and the logsource of each of its documents."""
    for tree in SIGMAHQ_TREES:
        for root, dirs, files in os.walk(sigmahq / tree):
            dirs.sort()
            for name in sorted(files):
                if not name.endswith(".yml"):
                    continue
                path = Path(root, name)
                for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader):
                    ls = doc.get("logsource") if isinstance(doc, dict) else None
                    if isinstance(ls, dict):
                        yield path, (ls.get("product"), ls.get("category"), ls.get("service"))


def taxonomy(sigmahq: Path, seen: set[Logsource]) -> dict[str, Any]:
    legit = json.loads((sigmahq / "tests" / "logsource.json").read_text(encoding="utf-8"))
    fields: dict[Logsource, dict[str, set[str]]] = {}

    def add(ls: Logsource, native: list[str], custom: list[str] | None = None) -> None:
        slot = fields.setdefault(ls, {"native": set(), "custom": set()})
        slot["native"].update(native)
        slot["custom"].update(custom or [])

    for section, extra in (("legit", False), ("addon", True)):
        for product_name, spec in legit.get(section, {}).items():
            product = None if product_name == "empty" else product_name
            common = list(spec.get("common", []))
            if spec.get("empty") is not None:
                add((product, None, None), [] if extra else common + list(spec["empty"]),
                    list(spec["empty"]) if extra else [])
            for kind in ("category", "service"):
                for name, names in spec.get(kind, {}).items():
                    ls: Logsource = (product, name, None) if kind == "category" else (product, None, name)
                    if extra:
                        add(ls, [], list(names))
                    else:
                        add(ls, common + list(names) if names else [])
    for ls in seen:
        add(ls, [])
    for keys, _family, _ in ECS_LOGSOURCES:
        ls = (keys.get("product"), keys.get("category"), keys.get("service"))
        add(ls, [])
    # Our rules may name ECS paths wherever a logsource's field names are checked.
    for keys, family, _ in ECS_LOGSOURCES:
        ls = (keys.get("product"), keys.get("category"), keys.get("service"))
        if fields[ls]["native"]:
            add(ls, [], sorted({*ECS_FIELDS.get(family, {}).values(), *ECS_COMMON.values()}))
    out: dict[str, Any] = {}
    for ls in sorted(fields, key=_key):
        if ls == (None, None, None):
            continue  # pySigma refuses an empty logsource
        slot = fields[ls]
        # Case-insensitive order as SigmaHQ's file has it, ties broken so the output is stable.
        native = sorted(slot["native"], key=lambda f: (f.casefold(), f))
        custom = sorted(slot["custom"] - slot["native"], key=lambda f: (f.casefold(), f)) if native else []
        out[_key(ls)] = {"logsource": _entry(ls), "field": {"native": native, "custom": custom, "redundant": []}}
    return {"version": f"generated from SigmaHQ logsource.json {legit.get('version', '')}".strip(), "taxonomy": out}


def filename_prefixes(files_by_logsource: Mapping[Logsource, list[str]]) -> dict[str, Any]:
    pattern: dict[str, Any] = {}
    for ls, names in sorted(files_by_logsource.items(), key=lambda kv: _key(kv[0])):
        if len(names) < 3:
            continue  # too few files to tell a convention from a coincidence
        prefix = os.path.commonprefix(names)  # noqa: RUF071 - file names, compared as text on purpose
        prefix = prefix[: prefix.rfind("_") + 1]
        if len(prefix) >= 3:
            pattern[_key(ls)] = {"logsource": _entry(ls), "prefix": prefix}
    return {"version": "generated from SigmaHQ rule file names", "pattern": pattern}


def windows_eventid() -> dict[str, Any]:
    return {"version": "generated from sigma.pipelines.sysmon",
            "category_no_eventid": sorted(sysmon_generic_logsource_eventid_mapping)}


def windows_provider() -> dict[str, Any]:
    return {"version": "generated from sigma.pipelines.sysmon",
            "category_provider_name": {
                c: ["Microsoft-Windows-Sysmon"] for c in sorted(sysmon_generic_logsource_eventid_mapping)}}


def mitre_attack(bundle_gz: Path) -> dict[str, Any]:
    """The ATT&CK objects pySigma reads, with only the fields it reads."""
    with gzip.open(bundle_gz, "rt", encoding="utf-8") as stream:
        bundle = json.load(stream)
    objects = []
    for obj in bundle["objects"]:
        if obj.get("type") not in ATTACK_TYPES or obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        refs = [{"source_name": r["source_name"], "external_id": r["external_id"]}
                for r in obj.get("external_references", [])
                if r.get("source_name") == "mitre-attack" and r.get("external_id")]
        if not refs:
            continue
        slim: dict[str, Any] = {"type": obj["type"], "id": obj["id"], "name": obj.get("name", ""),
                                "external_references": refs}
        for key in ("x_mitre_shortname", "x_mitre_version"):
            if key in obj:
                slim[key] = obj[key]
        if "kill_chain_phases" in obj:
            slim["kill_chain_phases"] = [
                p for p in obj["kill_chain_phases"] if p.get("kill_chain_name") == "mitre-attack"]
        objects.append(slim)
    objects.sort(key=lambda o: o["id"])
    return {"type": "bundle", "id": bundle["id"], "spec_version": bundle.get("spec_version", "2.0"), "objects": objects}


def generate(corpus: Path) -> dict[str, Any]:
    """Every data file, by file name, built from the corpus."""
    sigmahq = corpus / "sigma" / "sigmahq"
    seen: set[Logsource] = set()
    files: dict[Logsource, list[str]] = defaultdict(list)
    for path, ls in sigmahq_rules(sigmahq):
        seen.add(ls)
        if path.name not in files[ls]:
            files[ls].append(path.name)
    return {
        "sigmahq_taxonomy.json": taxonomy(sigmahq, seen),
        "sigmahq_filename.json": filename_prefixes(files),
        "sigmahq_windows_eventid.json": windows_eventid(),
        "sigmahq_windows_provider.json": windows_provider(),
        "mitre_attack.json": mitre_attack(corpus / "stix_misp" / "mitre-cti" / "enterprise-attack.assembled.json.gz"),
    }


def render(data: Any) -> str:
    """The exact text written for a data file (stable, so regenerating shows no diff)."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    default = os.environ.get("SOC_CORPUS") or Path(__file__).resolve().parents[3] / "shared" / "corpus"
    corpus = Path(argv[0]) if argv else Path(default)
    DATA_DIR.mkdir(exist_ok=True)
    for name, data in generate(corpus).items():
        (DATA_DIR / name).write_text(render(data), encoding="utf-8")
        print(f"wrote {DATA_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
