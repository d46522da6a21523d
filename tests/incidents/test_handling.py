"""Alert handling: duplicates folded with a count, suppressions (query, expiry, reason, author)
and per-rule severity overrides, configured as data through the CLI and audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from incidents.config import HandlingConfig
from incidents.handling import AlertHandler, HandlingOptions
from incidents.service import IncidentService
from incidents.stage import IncidentStage
from soc_api.cli import cli
from soc_core.audit import AuditLog
from soc_core.clock import FrozenClock
from soc_core.errors import ConfigError, QuerySyntaxError
from soc_store.sqlite import SqliteStore
from tests.incidents.helpers import alert

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_duplicates_fold_into_the_first_with_a_count(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "h.db")
    clock = FrozenClock(NOW)
    stage = IncidentStage(AlertHandler(store, clock, HandlingOptions(dedup_window_secs=300)),
                          IncidentService(store, clock=clock))
    repeats = [alert("ssh", m, source_ip="203.0.113.7", user_name="root") for m in (0, 1, 2, 4)]
    later = alert("ssh", 9, source_ip="203.0.113.7", user_name="root")  # past the window: a new alert
    kept = stage.before_store([*repeats, later])
    assert [a["event"]["id"] for a in kept] == [repeats[0]["event"]["id"], later["event"]["id"]]
    store.write(kept)
    stage.after_store()
    (incident,) = store.records("incidents").list()
    first = incident["members"][0]
    assert first["count"] == 4 and first["last_seen"] == repeats[-1]["@timestamp"]
    assert incident["alert_count"] == 5
    store.close()


def test_dedup_state_is_bounded(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "h.db")
    handler = AlertHandler(store, FrozenClock(NOW), HandlingOptions(max_dedup_keys=10))
    handler.handle([alert("scan", 0, source_ip=f"198.51.100.{i}") for i in range(50)])
    assert handler.tracked == 10
    store.close()


def test_suppression_and_override_apply_and_expire(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "h.db")
    clock = FrozenClock(NOW)
    config = HandlingConfig(store, clock)
    sup = config.add_suppression("source.ip:10.0.0.0/8 AND rule.id:scan", "our own scanner", "analyst:lan",
                                 NOW + timedelta(hours=1))
    config.set_override("ssh", "critical", "VIP server", "analyst:lan")
    handler = AlertHandler(store, clock)
    handled = handler.handle([alert("scan", 0, source_ip="10.1.2.3"), alert("scan", 0, source_ip="8.8.8.8"),
                              alert("ssh", 0, level=21, source_ip="8.8.4.4")])
    assert handled.suppressed == 1
    assert handled.store[0]["alert"]["suppressed_by"] == sup["id"]  # stored, marked, not grouped
    assert [a["source"]["ip"] for a in handled.for_incidents] == ["8.8.8.8", "8.8.4.4"]
    ssh = handled.for_incidents[1]
    assert ssh["event"]["severity"] == 99 and ssh["alert"]["severity_override"]["from"] == 21

    clock.advance(timedelta(hours=2))  # the suppression has expired
    handler.reload()
    assert handler.handle([alert("scan", 5, source_ip="10.1.2.3")]).suppressed == 0
    with pytest.raises(QuerySyntaxError):
        config.add_suppression("source.ip:(", "typo", "analyst:lan", None)
    with pytest.raises(ConfigError):
        config.add_suppression("source.ip:1.2.3.4", "", "analyst:lan", None)
    assert [e["action"] for e in AuditLog(store.records("audit")).entries()] == ["suppression.add", "override.set"]
    store.close()


def test_cli_suppressions_and_overrides_are_audited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()

    def soc(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    added = json.loads(soc("suppressions", "add", "--store", url, "--query", "source.ip:10.9.9.9",
                           "--reason", "vulnerability scanner", "--expires", "2099-01-01T00:00:00Z",
                           "--actor", "analyst:lan", "--json"))
    assert "Quy tắc loại trừ" in soc("suppressions", "list", "--store", url)
    soc("suppressions", "remove", added["id"], "--store", url, "--reason", "scanner retired", "--actor", "analyst:lan")
    assert json.loads(soc("suppressions", "list", "--store", url, "--json")) == []
    assert len(json.loads(soc("suppressions", "list", "--store", url, "--all", "--json"))) == 1
    soc("overrides", "set", "rule-1", "high", "--reason", "noisy but real", "--store", url, "--actor", "analyst:lan")
    assert "rule-1 -> high" in soc("overrides", "list", "--store", url)
    bad = runner.invoke(cli, ["suppressions", "add", "--store", url, "--query", "a:(", "--reason", "x"])
    assert bad.exit_code == 2 and "column" in bad.output
    out = soc("audit", "list", "--store", url)
    assert [line.split()[3] for line in out.splitlines()] == ["suppression.add", "suppression.remove", "override.set"]
    assert "analyst:lan" in out
