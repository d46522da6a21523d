"""TAXII 2.1 round trips with a real peer (medallion on 127.0.0.1): push under TLP, pull with
added_after and paging; the STIX we produce passes the STIX 2.1 validator."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import stix2validator
from click.testing import CliRunner
from taxii2client.v21 import Collection, as_pages

from intel.indicators import DOMAIN, IPV4, SHA256, URL, Observation
from intel.repository import IndicatorRepository
from intel.sharing import Partner, bundle_for, shareable
from intel.taxii import SHARES, TaxiiPeer, pull_into, push_from
from soc_api.cli import cli
from soc_core.clock import Clock, FrozenClock
from soc_store.sqlite import SqliteStore
from tests.intel.medallion_server import COLLECTION_ID, PASSWORD, USER, medallion

LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def fill(repo: IndicatorRepository, clock: Clock) -> None:
    now = clock.now()
    obs = []
    for i, level in enumerate(LEVELS):
        obs += [Observation(DOMAIN, f"d{i}.evil.example", "ops", level, 60, last_seen=now),
                Observation(IPV4, f"198.51.100.{i}", "ops", level, 70, last_seen=now),
                Observation(IPV4, f"203.0.{i}.0/24", "ops", level, 70, last_seen=now),
                Observation(URL, f"http://d{i}.evil.example/x'q", "ops", level, last_seen=now),
                Observation(SHA256, f"{i:064x}", "ops", level, last_seen=now)]
    repo.add(obs)


def test_tlp_gate() -> None:
    plain, amber = Partner("peer"), Partner("center", amber=True)
    assert [shareable({"tlp": t}, plain) for t in LEVELS] == [True, True, False, False, False]
    assert [shareable({"tlp": t}, amber) for t in LEVELS] == [True, True, True, True, False]
    assert not shareable({}, amber)  # unmarked: treated as RED


def test_bundle_validates_and_reimports(tmp_path: Path, clock: FrozenClock) -> None:
    store = SqliteStore(tmp_path / "a.db")
    repo = IndicatorRepository(store, clock)
    fill(repo, clock)
    bundle, withheld = bundle_for(repo.all(), Partner("center", amber=True), "SOC Tinh")
    store.close()
    assert len(withheld) == 5  # the RED ones
    results = stix2validator.validate_string(json.dumps(bundle), stix2validator.ValidationOptions(version="2.1"))
    assert results.is_valid, [str(e) for r in results.object_results for e in r.errors]
    assert {o["id"] for o in bundle["objects"] if o["type"] == "marking-definition"} >= {
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"}


def test_push_and_pull_with_medallion(tmp_path: Path, clock: FrozenClock) -> None:
    ours = SqliteStore(tmp_path / "ours.db")
    theirs = SqliteStore(tmp_path / "theirs.db")
    try:
        fill(IndicatorRepository(ours, clock), clock)
        with medallion(tmp_path) as server:
            # A partner not named for AMBER gets CLEAR and GREEN only.
            peer = TaxiiPeer(server.collection_url, Partner("peer"), USER, PASSWORD, page_size=2)
            share = push_from(ours, peer, clock, "SOC Tinh")
            assert len(share["object_ids"]) == 10 and share["withheld_by_tlp"] == 15
            assert share["status"]["success_count"] == 13  # with our identity and the two markings
            assert ours.records(SHARES).get(share["id"])["partner"] == "peer"

            raw = Collection(server.collection_url, user=USER, password=PASSWORD)
            served = [o for page in as_pages(raw.get_objects, per_request=2) for o in page.get("objects", [])]
            indicators = [o for o in served if o["type"] == "indicator"]
            assert len(indicators) == 10
            markings = {ref for o in indicators for ref in o["object_marking_refs"]}
            assert markings == {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
                                "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"}

            # Pull into another store: pages of 2, everything arrives once.
            center = TaxiiPeer(server.collection_url, Partner("center", amber=True), USER, PASSWORD, page_size=2)
            report, changed = pull_into(theirs, center, clock)
            assert changed == 10 and not report.problems
            pulled = {(r["type"], r["value"], r["tlp"]) for r in IndicatorRepository(theirs, clock).all()}
            sent = {(r["type"], r["value"], r["tlp"]) for r in IndicatorRepository(ours, clock).all()
                    if r["tlp"] in ("CLEAR", "GREEN")}
            assert pulled == sent

            # Now the AMBER partner: AMBER and AMBER+STRICT too, never RED; the next pull
            # fetches only what was added after the last one.
            clock.advance(timedelta(seconds=5))
            share = push_from(ours, center, clock, "SOC Tinh")
            assert len(share["object_ids"]) == 20 and share["withheld_by_tlp"] == 5
            report, changed = pull_into(theirs, center, clock)
            assert changed == 10 and len(report.observations) == 10
            levels = {r["tlp"] for r in IndicatorRepository(theirs, clock).all()}
            assert levels == {"CLEAR", "GREEN", "AMBER", "AMBER+STRICT"}
            report, changed = pull_into(theirs, center, clock)
            assert changed == 0 and not report.observations
    finally:
        ours.close()
        theirs.close()


def test_soc_intel_sync_push_then_pull(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'theirs.db'}"
    iocs = tmp_path / "iocs.txt"
    iocs.write_text("evil.example\n198.51.100.7\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("red.example\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["intel", "import", "--store", ours, "--tlp", "green", str(iocs)]).exit_code == 0
    assert runner.invoke(cli, ["intel", "import", "--store", ours, "--tlp", "red", str(secret)]).exit_code == 0
    monkeypatch.setenv("SOC_TAXII_USER", USER)
    monkeypatch.setenv("SOC_TAXII_PASSWORD", PASSWORD)
    with medallion(tmp_path) as server:
        args = ["--taxii", f"{server.url}/api1/", "--collection", COLLECTION_ID]
        pushed = runner.invoke(cli, ["intel", "sync", "--store", ours, *args, "--push", "--amber"])
        assert pushed.exit_code == 0, pushed.output
        assert "pushed 2 indicators to national-center, 1 withheld by TLP" in pushed.output
        pulled = runner.invoke(cli, ["intel", "sync", "--store", theirs, *args, "--pull"])
        assert pulled.exit_code == 0, pulled.output
        assert "pulled 2 indicators (2 stored or merged)" in pulled.output
        monkeypatch.setenv("SOC_TAXII_PASSWORD", "wrong")
        refused = runner.invoke(cli, ["intel", "sync", "--store", theirs, *args, "--pull"])
        assert refused.exit_code == 1 and "TAXII manifest" in refused.output
