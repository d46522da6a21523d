"""The MISP feed we export: TLP enforced, and re-imported with nothing lost or changed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from intel.importers import Defaults, ImportReport, read_path
from intel.indicators import tlp_rank
from intel.repository import IndicatorRepository
from soc_api.cli import cli
from soc_core.clock import SystemClock
from soc_store.sqlite import SqliteStore
from tests.intel.test_taxii import fill

KEPT = ("type", "value", "tlp", "confidence", "first_seen", "last_seen", "valid_until", "labels", "status")


def records(path: Path) -> dict[str, dict[str, object]]:
    store = SqliteStore(path)
    try:
        return {r["id"]: {k: r.get(k) for k in KEPT} for r in IndicatorRepository(store, SystemClock()).all()}
    finally:
        store.close()


def test_feed_round_trip_and_tlp(tmp_path: Path) -> None:
    clock = SystemClock()  # the CLI's clock: the records must stay active for the export
    store = SqliteStore(tmp_path / "ours.db")
    fill(IndicatorRepository(store, clock), clock)
    store.close()
    runner = CliRunner()
    ours, theirs = f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'theirs.db'}"
    feed = tmp_path / "feed"
    out = runner.invoke(cli, ["intel", "export", "--store", ours, "--misp-feed", str(feed), "--amber"])
    assert out.exit_code == 0, out.output
    assert "exported 20 indicators" in out.output and "5 withheld by TLP" in out.output
    text = "".join(p.read_text() for p in feed.iterdir())
    assert "tlp:red" not in text and "d4.evil.example" not in text  # index 4 is the RED one

    report = ImportReport()
    read_path(feed, Defaults(), report)
    assert len(report.observations) == 20 and not report.problems

    back = runner.invoke(cli, ["intel", "import", "--store", theirs, str(feed)])
    assert back.exit_code == 0, back.output
    sent = {k: v for k, v in records(tmp_path / "ours.db").items()
            if tlp_rank(str(v["tlp"])) <= tlp_rank("AMBER+STRICT")}
    assert records(tmp_path / "theirs.db") == sent

    # A partner not named for AMBER: CLEAR and GREEN only.
    green = tmp_path / "green"
    out = runner.invoke(cli, ["intel", "export", "--store", ours, "--misp-feed", str(green), "--partner", "peer"])
    assert "exported 10 indicators" in out.output and "15 withheld by TLP" in out.output
    manifest = json.loads((green / "manifest.json").read_text())
    assert {event["Tag"][0]["name"] for event in manifest.values()} == {"tlp:clear", "tlp:green"}
