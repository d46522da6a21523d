"""Loading: broken rules reported with file and line, filters, folders, the SigmaHQ tree."""

from __future__ import annotations

import re
from pathlib import Path

from rules.sigma import load_rules
from tests.conftest import corpus_path
from tests.rules.helpers import Both, rule_yaml, win_event

GOOD = rule_yaml("    sel:\n        Image|endswith: '\\a.exe'\n    condition: sel", title="good")


def test_broken_rule_is_reported_with_file_and_line_and_the_others_load(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad_yaml.yml").write_text("title: x\ndetection:\n  sel: [unclosed\n", encoding="utf-8")
    bad_condition = rule_yaml("    sel:\n        Image: 'x'\n    condition: sel and missing_sel",
                              rule_id="00000000-0000-0000-0000-000000000002", title="bad")
    (tmp_path / "bad_condition.yml").write_text(bad_condition, encoding="utf-8")
    ruleset = load_rules([str(tmp_path)])
    assert [r.title for r in ruleset.rules] == ["good"]
    by_file = {Path(e.path or "").name: e for e in ruleset.errors}
    assert set(by_file) == {"bad_yaml.yml", "bad_condition.yml"}
    assert by_file["bad_yaml.yml"].line == 4  # the YAML error mark (end of the flow sequence)
    assert by_file["bad_condition.yml"].line == 10  # the condition naming it
    assert "missing_sel" in by_file["bad_condition.yml"].reason


def test_sigma_filter_applies_to_the_rules_it_names(tmp_path: Path) -> None:
    (tmp_path / "rule.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "filter.yml").write_text("""title: ignore the admin host
filter:
    rules:
        - 00000000-0000-0000-0000-000000000001
    selection:
        Computer: 'admin-ws'
    condition: not selection
logsource:
    product: windows
    category: process_creation
""", encoding="utf-8")
    ruleset = load_rules([str(tmp_path)])
    assert len(ruleset.filters) == 1 and not ruleset.errors
    both = Both(ruleset)
    hit = win_event(Image="C:\\a.exe")
    assert both.hits(hit) == ["good"]
    hit["winlog"]["computer_name"] = "ADMIN-WS"
    assert both.hits(hit) == []


def test_correlations_are_collected_apart(tmp_path: Path) -> None:
    (tmp_path / "rule.yml").write_text(GOOD.replace("title: good", "title: good\nname: good_rule"), encoding="utf-8")
    (tmp_path / "corr.yml").write_text("""title: many
correlation:
    type: event_count
    rules:
        - good_rule
    group-by:
        - Computer
    timespan: 5m
    condition:
        gte: 3
""", encoding="utf-8")
    ruleset = load_rules([str(tmp_path)])
    assert not ruleset.errors
    assert [c.title for c in ruleset.correlations] == ["many"]
    assert [r.title for r in ruleset.rules] == ["good"]


def test_the_whole_sigmahq_tree_loads() -> None:
    root = corpus_path("sigma", "sigmahq")
    trees = sorted(str(p) for p in root.iterdir() if p.name.startswith("rules"))
    ruleset = load_rules(trees)
    files = sum(1 for t in trees for _ in Path(t).rglob("*.yml"))
    # The only errors: placeholders that a deployment must define (expand modifier).
    unresolved = {m for e in ruleset.errors for m in re.findall(r"%[^%\s]+%", str(e))}
    assert all("placeholder" in str(e) for e in ruleset.errors), ruleset.errors[:3]
    assert len(ruleset.rules) + len(ruleset.errors) == files
    # Defining them makes those rules load too (a rule may use several: add and retry).
    subset = sorted({str(Path(e.path or "")) for e in ruleset.errors})
    values = {name.strip("%"): ["x"] for name in unresolved}
    for _ in range(5):
        errors = load_rules(subset, values).errors
        new = {m.strip("%") for e in errors for m in re.findall(r"%[^%\s]+%", str(e))}
        if not new:
            break
        values.update({name: ["x"] for name in new})
    assert errors == []
