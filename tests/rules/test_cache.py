"""The compiled rule-set cache: same engine as a fresh load, rebuilt when stale or corrupt."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from rules.sigma import SigmaEngine, load_rules
from rules.sigma.cache import CachedRule, cache_key, load_engine
from soc_core.event import Event
from tests.conftest import corpus_path
from tests.rules.helpers import rule_yaml, win_event

RULES = {
    "a.yml": rule_yaml("    sel:\n        Image|endswith: '\\a.exe'\n    condition: sel", title="a ran"),
    "b.yml": rule_yaml("    sel:\n        CommandLine|contains|all:\n            - ' -enc '\n            - 'hidden'\n"
                       "    condition: sel", rule_id="00000000-0000-0000-0000-000000000002", title="b ran"),
    "c.yml": rule_yaml("    sel:\n        CommandLine|re: '(?i)invoke-[a-z]+'\n    filter:\n        User: SYSTEM\n"
                       "    condition: sel and not filter", rule_id="00000000-0000-0000-0000-000000000003",
                       title="c ran"),
    "broken.yml": "title: broken\nlogsource:\n    product: windows\ndetection:\n    condition: nothing\n",
}
EVENTS: list[Event] = [
    win_event(Image="C:\\x\\a.exe"),
    win_event(CommandLine="powershell -enc AAAA -w hidden"),
    win_event(CommandLine="Invoke-Mimikatz", User="alice"),
    win_event(CommandLine="Invoke-Mimikatz", User="SYSTEM"),
    win_event(Image="C:\\b.exe"),
]


def write_rules(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in RULES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def titles(engine: SigmaEngine, events: list[Event]) -> list[list[str]]:
    return [[r.title for r in engine.match(e)] for e in events]


def errors(engine: SigmaEngine) -> list[str]:
    return [str(e) for e in engine.ruleset.errors]


def test_second_load_comes_from_the_cache_and_equals_a_fresh_load(tmp_path: Path) -> None:
    rules = str(write_rules(tmp_path / "rules"))
    fresh = SigmaEngine(load_rules([rules]))
    first, outcome = load_engine([rules], cache_dir=tmp_path / "cache")
    assert outcome.status == "miss" and outcome.path is not None and outcome.path.exists()
    second, outcome = load_engine([rules], cache_dir=tmp_path / "cache")
    assert outcome.status == "hit"
    assert titles(second, EVENTS) == titles(first, EVENTS) == titles(fresh, EVENTS)
    assert titles(fresh, EVENTS) == [["a ran"], ["b ran"], ["c ran"], [], []]
    assert errors(second) == errors(fresh) and any("broken.yml" in e for e in errors(second))
    assert [r.title for r in second.rules] == [r.title for r in fresh.rules]
    assert all(isinstance(r, CachedRule) for r in second.rules)
    assert [second.ruleset.source_of(r) for r in second.rules] == [fresh.ruleset.source_of(r) for r in fresh.rules]
    restored = second.rules[0]
    assert str(restored.id) == "00000000-0000-0000-0000-000000000001" and str(restored.level).lower() == "high"
    assert [f"{t.namespace}.{t.name}" for t in restored.tags] == ["attack.execution", "attack.t1059.001"]


def test_a_restored_rule_reads_its_detection_back_from_its_file(tmp_path: Path) -> None:
    rules = str(write_rules(tmp_path / "rules"))
    load_engine([rules], cache_dir=tmp_path / "cache")
    engine, _ = load_engine([rules], cache_dir=tmp_path / "cache")
    by_title = {r.title: r for r in load_rules([rules]).rules}
    for rule in engine.rules:
        assert rule.detection.to_dict() == by_title[rule.title].detection.to_dict()
    # Pickling keeps the metadata packed (no unpacking for dunder look-ups), and round-trips.
    copy = pickle.loads(pickle.dumps(engine.rules[1]))
    assert "_packed" in object.__getattribute__(copy, "__dict__")
    assert copy.title == "b ran"


def test_a_changed_rule_file_changes_the_key(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules")
    before = cache_key([str(rules)], None)
    assert cache_key([str(rules)], {"x": ["1"]}) != before
    (rules / "a.yml").write_text(RULES["a.yml"].replace("a.exe", "z.exe"), encoding="utf-8")
    assert cache_key([str(rules)], None) != before
    engine, outcome = load_engine([str(rules)], cache_dir=tmp_path / "cache")
    assert outcome.status == "miss"
    assert titles(engine, [win_event(Image="C:\\z.exe")]) == [["a ran"]]


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "loose-mode"])
def test_a_damaged_or_untrusted_file_is_rebuilt_not_used(tmp_path: Path, damage: str) -> None:
    rules = str(write_rules(tmp_path / "rules"))
    _, outcome = load_engine([rules], cache_dir=tmp_path / "cache")
    path = outcome.path
    assert path is not None
    blob = path.read_bytes()
    if damage == "flip":
        path.write_bytes(blob[:-10] + bytes([blob[-10] ^ 0xFF]) + blob[-9:])
    elif damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a cache file")
    else:
        os.chmod(path, 0o666)
    engine, outcome = load_engine([rules], cache_dir=tmp_path / "cache")
    assert outcome.status == "rebuilt"
    assert titles(engine, EVENTS) == [["a ran"], ["b ran"], ["c ran"], [], []]
    assert load_engine([rules], cache_dir=tmp_path / "cache")[1].status == "hit"


def test_no_cache_loads_fresh_and_writes_nothing(tmp_path: Path) -> None:
    rules = str(write_rules(tmp_path / "rules"))
    engine, outcome = load_engine([rules], cache_dir=tmp_path / "cache", use_cache=False)
    assert outcome.status == "off" and not (tmp_path / "cache").exists()
    assert titles(engine, EVENTS)[0] == ["a ran"]


def test_sigmahq_rules_from_the_cache_match_as_fresh_ones(tmp_path: Path, evtx_events: list[Event]) -> None:
    """Application-log, PowerShell-classic and Security rules (unnamed Data items, audit
    renames, regexes) over every corpus EVTX event: the cached engine finds the same."""
    base = corpus_path("sigma", "sigmahq", "rules", "windows")
    folders = [base / "builtin" / "application", base / "powershell" / "powershell_classic",
               base / "builtin" / "security" / "account_management"]
    copy = tmp_path / "rules"
    for folder in folders:
        shutil.copytree(folder, copy / folder.name)
    fresh = SigmaEngine(load_rules([str(copy)]))
    load_engine([str(copy)], cache_dir=tmp_path / "cache")
    cached, outcome = load_engine([str(copy)], cache_dir=tmp_path / "cache")
    assert outcome.status == "hit"
    assert titles(cached, evtx_events) == titles(fresh, evtx_events)
    assert sum(map(len, titles(fresh, evtx_events))) > 0


def test_old_entries_are_pruned(tmp_path: Path) -> None:
    from rules.sigma import cache

    rules = write_rules(tmp_path / "rules")
    for i in range(cache.KEEP_ENTRIES + 3):
        (rules / "a.yml").write_text(RULES["a.yml"].replace("a.exe", f"a{i}.exe"), encoding="utf-8")
        load_engine([str(rules)], cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.rules"))) == cache.KEEP_ENTRIES
    assert load_engine([str(rules)], cache_dir=tmp_path / "cache")[1].status == "hit"
