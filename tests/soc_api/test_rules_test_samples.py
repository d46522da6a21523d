"""Issue #20 item 6: ``soc rules test`` reads syslog and ECS NDJSON samples with the
parsers, not only Windows events, and a test over zero events fails."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from soc_api.commands.rules_test import command

RULE_ID = "6b1f5a0e-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
RULE = f"""title: SSH failed password
id: {RULE_ID}
logsource:
    product: linux
    service: auth
detection:
    sel:
        - 'Failed password'
    condition: sel
level: low
"""
SSHD_FAIL = "Dec  7 10:00:00 srv sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2\n"
SSHD_OK = "Dec  7 10:00:00 srv sshd[1]: Accepted publickey for deploy from 10.0.0.2 port 22 ssh2\n"
ECS_FAIL = ('{"@timestamp":"2026-12-07T10:00:00Z","event":{"dataset":"system.auth","category":["authentication"]},'
            '"message":"Failed password for root from 10.0.0.1 port 22 ssh2","host":{"os":{"type":"linux"}}}\n')


def _layout(tmp_path: Path, samples: dict[str, tuple[str, str]]) -> Path:
    """rules/rule.yml and regression_data/<case>/info.yml + the samples (name: (file, text))."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rule.yml").write_text(RULE)
    case = tmp_path / "regression_data" / "rules" / "linux" / "ssh_failed"
    case.mkdir(parents=True)
    tests = []
    for name, (file, text) in samples.items():
        (case / file).write_text(text)
        where = f"regression_data/rules/linux/ssh_failed/{file}"
        tests.append(f"    - name: {name}\n      type: log\n      path: {where}\n")
    (case / "info.yml").write_text(
        f"id: 00000000-0000-4000-8000-000000000001\nrule_metadata:\n    - id: {RULE_ID}\n"
        "regression_tests_info:\n" + "".join(tests)
    )
    return tmp_path / "rules"


def test_syslog_and_ecs_samples_are_parsed(tmp_path: Path) -> None:
    rules = _layout(tmp_path, {
        "Positive Detection Test": ("auth.log", SSHD_FAIL + SSHD_OK),
        "Negative Detection Test": ("benign.log", SSHD_OK),
        "Positive ECS Test": ("ecs.ndjson", ECS_FAIL),
    })
    result = CliRunner().invoke(command, ["-v", str(rules)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "PASS" in result.output and "1/2 events matched" in result.output
    assert "samples: 3 passed, 0 failed" in result.output


def test_a_sample_with_no_event_fails_even_when_negative(tmp_path: Path) -> None:
    rules = _layout(tmp_path, {
        "Positive Detection Test": ("auth.log", SSHD_FAIL),
        "Negative Detection Test": ("empty.log", ""),
    })
    result = CliRunner().invoke(command, [str(rules)])
    assert result.exit_code == 1, result.output
    assert "no event read from the sample" in result.output
    assert "samples: 1 passed, 1 failed" in result.output


def test_parser_option_and_help(tmp_path: Path) -> None:
    rules = _layout(tmp_path, {"Positive Detection Test": ("auth.log", SSHD_FAIL)})
    named = CliRunner().invoke(command, ["--parser", "system.auth", str(rules)])
    assert named.exit_code == 0, named.output
    wrong = CliRunner().invoke(command, ["--parser", "winlog", str(rules)])
    assert wrong.exit_code == 1 and "try --parser" in wrong.output, wrong.output
    help_text = CliRunner().invoke(command, ["--help"]).output
    for words in ("--parser", "info.yml", "regression_tests_info", "ECS", "negative"):
        assert words in help_text, words
