"""Every built-in rule (Sigma and correlation) has our own positive and negative samples, and
``soc rules test`` passes them all; every built-in rule names an ATT&CK tactic, so incidents can
measure how far along the kill chain they are."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from rules.attack import load_attack_table
from rules.sigma import load_rules
from soc_api.cli import cli

BUILTIN = Path(__file__).resolve().parents[2] / "rules" / "builtin"


def test_soc_rules_test_passes_every_builtin_sample() -> None:
    result = CliRunner().invoke(cli, ["rules", "test", "--verbose", str(BUILTIN)])
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert re.search(r"samples: \d+ passed, 0 failed; rules: \d+ loaded, 0 broken, 0 without samples", summary), summary
    ruleset = load_rules([str(BUILTIN)])
    every = {str(r.id) for r in ruleset.rules} | {str(c.id) for c in ruleset.correlations}
    tested = set(re.findall(r"^PASS (\S+) .*\[Positive", result.output, re.M))
    refused = set(re.findall(r"^PASS (\S+) .*\[Negative", result.output, re.M))
    assert tested == every and refused == every


def test_every_builtin_rule_names_an_attack_tactic() -> None:
    ruleset = load_rules([str(BUILTIN)])
    table = load_attack_table()
    for rule in [*ruleset.rules, *ruleset.correlations]:
        threat = table.threat([f"{t.namespace}.{t.name}" for t in rule.tags])
        assert threat.get("tactic"), f"{rule.title} has no ATT&CK tactic"
