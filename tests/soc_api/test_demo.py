"""``soc demo --sample``: the main job on the project's own sample logs, end to end."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from soc_api.cli import cli
from soc_core.query import parse_query
from soc_store.sqlite import SqliteStore


def test_demo_on_the_project_samples_finds_the_attacks(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--sample", "--store", f"sqlite:///{db}"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Cảnh báo / Alerts" in result.output
    assert "Sự kiện đã lưu / Events stored: 26" in result.output

    store = SqliteStore(db)
    alerts = store.search("alerts", parse_query("*"), limit=1000).events
    by_rule = Counter(a["rule"]["name"] for a in alerts)
    assert by_rule["SSH Authentication Failure"] == 13
    assert by_rule["SQL Injection Attempt In A Web Request"] == 2
    assert by_rule["Path Traversal Attempt In A Web Request"] == 1
    # 10.20.0.5 sits inside the camera network and is filtered out by the rule.
    assert by_rule["Connection Attempt To A Camera Analytics Node Management Port"] == 4
    brute = [a for a in alerts if a["rule"]["name"] == "SSH Brute Force From One Source"]
    assert len(brute) == 1
    assert brute[0]["source"]["ip"] == "203.0.113.50"
    assert store.count("dead_letters", parse_query("*")) == 0
    store.close()
