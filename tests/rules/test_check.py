"""``soc rules check``: offline validation with shipped data, issues as file:line: message."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rules.check.generate import DATA_DIR, generate, render
from rules.check.validate import all_validators, check_paths
from soc_api.cli import cli
from tests.conftest import corpus_path

CLEAN = """title: Whoami Execution By Web Server Process
id: 4c0d7e1a-5b62-4f3e-8a9d-1e2f3a4b5c61
status: experimental
description: Detects whoami started by a web server worker, a first step after a web shell upload.
references:
    - https://www.microsoft.com/en-us/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/
author: soc-pipeline
date: 2026-11-22
tags:
    - attack.discovery
    - attack.t1033
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        ParentImage|endswith: '\\\\w3wp.exe'
        Image|endswith: '\\\\whoami.exe'
    condition: selection
falsepositives:
    - Unknown
level: high
"""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test: the check must run offline."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_a_clean_rule_has_no_issue(tmp_path: Path) -> None:
    path = tmp_path / "proc_creation_win_whoami_webserver_parent.yml"
    path.write_text(CLEAN)
    result = check_paths([str(path)])
    assert [str(i) for i in result.issues] == []
    assert result.rules == 1
    assert len(result.validators) == len(all_validators()) > 70


def test_issues_carry_file_and_line(tmp_path: Path) -> None:
    bad_tag = CLEAN.replace("attack.t1033", "attack.t9999").replace(
        "4c0d7e1a-5b62-4f3e-8a9d-1e2f3a4b5c61", "4c0d7e1a-5b62-4f3e-8a9d-1e2f3a4b5c62")
    (tmp_path / "proc_creation_win_bad_tag.yml").write_text(bad_tag)
    (tmp_path / "broken_yaml_rule.yml").write_text("title: x\ndetection:\n  sel: [a\n  condition: sel\n")
    wrong_logsource = CLEAN.replace("category: process_creation", "category: proces_creation").replace(
        "4c0d7e1a-5b62-4f3e-8a9d-1e2f3a4b5c61", "4c0d7e1a-5b62-4f3e-8a9d-1e2f3a4b5c63")
    (tmp_path / "proc_creation_win_typo_logsource.yml").write_text(wrong_logsource)
    issues = check_paths([str(tmp_path)]).issues
    by_check = {(Path(i.path).name, i.check): i for i in issues}
    tag = by_check[("proc_creation_win_bad_tag.yml", "attacktag")]
    assert tag.line == 11  # the "- attack.t9999" line
    assert "attack.t9999" in tag.message
    load = by_check[("broken_yaml_rule.yml", "load")]
    assert load.severity == "error"
    assert load.line in (3, 4)
    unknown = by_check[("proc_creation_win_typo_logsource.yml", "sigmahq_logsource_unknown")]
    assert unknown.severity == "high"
    assert str(unknown).startswith(f"{tmp_path / 'proc_creation_win_typo_logsource.yml'}:")


def test_correlation_errors_of_our_engine_are_reported(tmp_path: Path) -> None:
    base = CLEAN.replace("title: Whoami Execution By Web Server Process", "title: Whoami Execution\nname: whoami")
    corr = """title: Whoami Burst
id: 7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6
correlation:
    type: temporal
    rules:
        - whoami
        - whoami_again
    group-by:
        - host
    timespan: 5m
    aliases:
        host:
            whoami: Computer
"""
    second = base.replace("name: whoami", "name: whoami_again").replace(
        "4c0d7e1a-5b62-4f3e-8a9d-1e2f3a4b5c61", "4c0d7e1a-5b62-4f3e-8a9d-1e2f3a4b5c64")
    (tmp_path / "correlation_whoami_burst.yml").write_text(f"{corr}---\n{base}---\n{second}")
    issues = check_paths([str(tmp_path)]).issues
    errors = [i for i in issues if i.check == "correlation"]
    assert len(errors) == 1
    assert "alias 'host' does not map rule 'whoami_again'" in errors[0].message


def test_cli_prints_file_line_and_fails(tmp_path: Path) -> None:
    good = tmp_path / "proc_creation_win_whoami_webserver_parent.yml"
    good.write_text(CLEAN)
    result = CliRunner().invoke(cli, ["rules", "check", str(good)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 files, 1 rules" in result.stderr
    bad = tmp_path / "proc_creation_win_bad.yml"
    bad.write_text(CLEAN.replace("level: high", "level: severe"))
    result = CliRunner().invoke(cli, ["rules", "check", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{bad}:")
    assert ": error: " in result.stdout
    excluded = CliRunner().invoke(cli, ["rules", "check", "--exclude", "nosuch", str(good)])
    assert excluded.exit_code == 2
    assert "unknown validator" in excluded.output


def test_sigmahq_rules_pass_the_sigmahq_data_checks() -> None:
    """Our generated taxonomy, file name and Windows tables agree with SigmaHQ's own rules."""
    folder = corpus_path("sigma", "sigmahq", "rules", "linux")
    result = check_paths([str(folder)])
    assert result.rules > 150
    checks = {i.check for i in result.issues}
    assert not checks & {"load", "engine", "correlation", "sigmahq_logsource_unknown", "sigmahq_invalid_fieldname",
                         "sigmahq_filename_prefix", "sigmahq_fieldname_cast"}, sorted(checks)


def test_shipped_data_is_what_the_corpus_generates() -> None:
    corpus = corpus_path()
    for name, data in generate(corpus).items():
        assert (DATA_DIR / name).read_text(encoding="utf-8") == render(data), name


def test_our_own_builtin_rules_pass_our_rule_checks() -> None:
    builtin = Path(__file__).resolve().parents[2] / "rules" / "builtin"
    result = CliRunner().invoke(cli, ["rules", "check", str(builtin)])
    assert result.exit_code == 0, result.output
    assert "0 issues" in result.output
