"""``soc scan`` end to end: NDJSON alerts on stdout, rule errors as file:line on stderr."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from soc_api.cli import cli
from tests.conftest import corpus_path


def test_scan_prints_ecs_alerts_for_the_corpus_eicar() -> None:
    eicar = corpus_path("yara", "eicar")
    result = CliRunner().invoke(cli, ["scan", "--stats", str(eicar)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    alerts = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [a["rule"]["name"] for a in alerts] == ["SOC_EICAR_Test_File"]
    assert alerts[0]["file"]["name"] == "eicar.com.txt"
    assert alerts[0]["yara"]["matched_strings"][0]["offsets"] == [0]
    assert "scanned=1" in result.stderr
    assert "alerts=1" in result.stderr


def test_scan_with_signature_base_and_a_broken_rule_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yar"
    bad.write_text("rule nope {\n  condition: undefined_thing\n}\n")
    sigbase = corpus_path("yara", "signature-base", "yara")
    eicar = corpus_path("yara", "eicar", "eicar.com.txt")
    result = CliRunner().invoke(cli, ["scan", "--yara", str(sigbase), "--yara", str(bad), str(eicar)],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:2: ")
    alerts = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert sorted(a["rule"]["name"] for a in alerts) == ["SOC_EICAR_Test_File", "SUSP_Just_EICAR"]
