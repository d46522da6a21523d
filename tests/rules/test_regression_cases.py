"""Every SigmaHQ regression_data case in the corpus fires its rule through ``soc rules test``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rules.sigma import SigmaEngine, load_rules
from soc_api.commands.rules_test import command
from soc_api.regression import iter_cases, run_cases
from tests.conftest import corpus_path


@pytest.mark.slow
def test_every_regression_case_fires_through_soc_rules_test(tmp_path: Path) -> None:
    root = corpus_path("sigma", "sigmahq")
    trees = [str(root / name) for name in ("rules", "rules-threat-hunting", "rules-emerging-threats")]
    cases = list(iter_cases([str(root / "regression_data")]))
    assert len(cases) >= 150
    # Emerging-threat rules use placeholders a deployment defines; give them values.
    names = {m for t in trees for p in Path(t).rglob("*.yml") for m in re.findall(r"%(\w+)%", p.read_text("utf-8"))}
    placeholders = tmp_path / "placeholders.yml"
    placeholders.write_text("".join(f"{n}: ['placeholder-{n}']\n" for n in sorted(names)), encoding="utf-8")
    result = CliRunner().invoke(command, ["--placeholders", str(placeholders), *trees])
    summary = result.output.strip().splitlines()[-1]
    assert result.exit_code == 0, result.output[-3000:]
    passed = int(re.search(r"samples: (\d+) passed, 0 failed", summary).group(1))  # type: ignore[union-attr]
    assert passed == sum(len(c.samples) for c in cases)


def test_a_rule_that_does_not_fire_fails_the_run(tmp_path: Path) -> None:
    root = corpus_path("sigma", "sigmahq", "regression_data")
    case = next(iter(iter_cases([str(root)])))
    # The case's rule id, but a detection its sample cannot satisfy.
    rule = tmp_path / "rule.yml"
    rule.write_text(f"""title: never
id: {case.rule_id}
logsource:
    product: windows
    category: process_creation
detection:
    sel:
        CommandLine: 'no such command line anywhere'
    condition: sel
""", encoding="utf-8")
    report = run_cases(SigmaEngine(load_rules([str(rule)])), [case])
    assert report.outcomes and not any(o.ok for o in report.outcomes)
    result = CliRunner().invoke(command, ["--data", str(root), str(rule)])
    assert result.exit_code == 1
    assert "FAIL " + case.rule_id in result.output
