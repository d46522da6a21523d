"""Must-show: a port scan, web attacks seen by the WAF and the web server, an SSH login after
failures and malware found by antivirus on the same host become one incident whose ATT&CK tactics
progress; an unrelated brute force against the same host in the same files stays its own incident.

Everything runs for real: the parsers, the built-in Sigma and correlation rules, alert handling,
grouping, and the embedded store (and the OpenSearch-compatible one for the grouping itself).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from incidents.entities import KILL_CHAIN
from ingest.files import read_file_events
from ingest.pipeline import Pipeline
from soc_api.commands._common import build_detectors, make_parser
from soc_api.commands._incidents import build_alert_stage
from soc_core.clock import FrozenClock
from soc_core.contracts import Record, Store
from tests.incidents.scenario import ATTACKER, OTHER_ATTACKER, VICTIM_HOST, VICTIM_IP, write_scenario

PORT_SCAN = "6e0f4a51-2b7c-4d8e-9f10-a1b2c3d4e502"
WAF = "4d3c2b1a-0f9e-4d8c-a7b6-c5d4e3f2a101"
SQLI = "3c2b1a09-8f7e-4d6c-b5a4-938271605f03"
SSH_SUCCESS_AFTER_FAILURES = "5b1c8a4e-2d1f-4c36-9a57-0d6a0b9f1e04"
SSH_BRUTE_FORCE = "8f3e1d2c-7a4b-4e5f-9c1d-2b3a4c5d6e02"
MALWARE = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01"


def run_scenario(store: Store, folder: Path) -> FrozenClock:
    clock = FrozenClock(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    detectors = build_detectors((), clock, builtin=True)
    stage = build_alert_stage(store, clock)
    pipeline: Pipeline | None = None
    for item in write_scenario(folder):
        # One stream through the same detectors, as one `soc run` receives them: correlation
        # windows are flushed (by the clock) only at the end, not after each file.
        parser = make_parser(item.parser, UTC, clock)
        pipeline = Pipeline(parser, store, detectors, clock=clock, alert_stage=stage)
        pipeline.write(pipeline.process_batch(list(read_file_events(str(item.path), parser, clock.now()))))
        assert pipeline.stats.failed == 0, f"{item.path.name}: {pipeline.stats.failed} lines did not parse"
    assert pipeline is not None
    pipeline.write(pipeline.flush_detectors())
    return clock


def incident_of(store: Store, ip: str) -> Record:
    found = [i for i in store.records("incidents").find({"entities.source.ip": ip}) if not i.get("merged_into")]
    assert len(found) == 1, [(i["id"], i["title"]) for i in found]
    return found[0]


def test_one_attacker_one_incident_with_progressing_tactics(store: Store, tmp_path: Path) -> None:
    run_scenario(store, tmp_path)
    incident = incident_of(store, ATTACKER)
    rules = set(incident["rule_ids"])
    assert {PORT_SCAN, WAF, SQLI, SSH_SUCCESS_AFTER_FAILURES, MALWARE} <= rules, incident["rule_ids"]
    assert VICTIM_IP in incident["entities"]["destination.ip"]
    assert VICTIM_HOST in incident["entities"]["host.hostname"] + incident["entities"].get("host.name", [])

    # Tactics progress: each stage, in time order, adds a later kill-chain stage than the scan's.
    first_of = {rule: min(m["timestamp"] for m in incident["members"] if m["rule_id"] == rule)
                for rule in (PORT_SCAN, WAF, SSH_SUCCESS_AFTER_FAILURES, MALWARE)}
    assert first_of[PORT_SCAN] < first_of[WAF] < first_of[SSH_SUCCESS_AFTER_FAILURES] < first_of[MALWARE]
    seen: set[str] = set()
    sizes = []
    for member in sorted(incident["members"], key=lambda m: m["timestamp"]):
        seen.update(member["tactics"])
        if member["rule_id"] in first_of and member["timestamp"] == first_of[member["rule_id"]]:
            sizes.append(len(seen))
    assert sizes == sorted(set(sizes)), sizes  # strictly growing at each stage
    assert {"reconnaissance", "initial-access", "credential-access", "execution"} <= set(incident["tactics"])
    assert incident["tactics"] == [t for t in KILL_CHAIN if t in incident["tactics"]]
    assert incident["severity"] == "critical"

    # The malware alert names no attacking address: it joined through the host, and says so.
    malware = next(m for m in incident["members"] if m["rule_id"] == MALWARE)
    reason = malware["reason"]
    assert reason["link"] == "target"
    assert reason["entity_field"] in ("host.name", "host.ip", "host.hostname")
    assert reason["linked_alert_id"] in incident["alert_ids"]
    assert reason["gap_seconds"] is not None and reason["gap_seconds"] > 0
    # Every other member after the first explains which earlier alert it shares what with.
    for member in incident["members"][1:]:
        assert "entity_field" in member["reason"] or "merged" in member["reason"]["text"], member


def test_an_unrelated_brute_force_on_the_same_host_stays_apart(store: Store, tmp_path: Path) -> None:
    run_scenario(store, tmp_path)
    attacker = incident_of(store, ATTACKER)
    other = incident_of(store, OTHER_ATTACKER)
    assert other["id"] != attacker["id"]
    assert SSH_BRUTE_FORCE in other["rule_ids"]
    assert MALWARE not in other["rule_ids"] and PORT_SCAN not in other["rule_ids"]
    assert ATTACKER not in other["entities"]["source.ip"]
    assert OTHER_ATTACKER not in attacker["entities"]["source.ip"]
    assert other["tactics"] == ["credential-access"]
