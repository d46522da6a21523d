"""The loghub OpenSSH sample end to end: ``soc ingest --parser system.auth`` opens incidents
(and plans their playbook actions in the durable queue), then ``soc playbooks simulate``
on the top attacker's incident plans a block of that address and refuses to block an
address in the never-block set, naming the safeguard; ``soc actions`` lists and decides."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from soc_api.cli import cli
from tests.conftest import corpus_path

FAILURE = re.compile(
    r"(?:Failed password|Invalid user|authentication failure).*?(?:from|rhost=)\s*(\d+\.\d+\.\d+\.\d+)")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, object]], str]:
    log = corpus_path("loghub", "OpenSSH", "OpenSSH_2k.log")
    url = f"sqlite:///{tmp_path_factory.mktemp('lh') / 'soc.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", "--store", url, "--parser", "system.auth", str(log)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["incidents", "list", "--store", url, "--json"])
    assert listed.exit_code == 0, listed.output
    # The top attacker, counted from the raw lines (independently of our parser and rules).
    counts = Counter(m.group(1) for line in log.read_text(errors="replace").splitlines() if (m := FAILURE.search(line)))
    return url, json.loads(listed.output), counts.most_common(1)[0][0]


def _incident_of(incidents: list[dict[str, object]], ip: str) -> dict[str, object]:
    owning = [i for i in incidents if ip in i["entities"].get("source.ip", [])]  # type: ignore[attr-defined]
    assert len(owning) == 1, f"{ip} should have exactly one incident, found {len(owning)}"
    return owning[0]


def test_simulate_plans_a_block_of_the_top_attacker(ingested: tuple[str, list[dict[str, object]], str]) -> None:
    url, incidents, top = ingested
    incident = _incident_of(incidents, top)
    result = CliRunner().invoke(cli, ["playbooks", "simulate", "--store", url, str(incident["id"])])
    assert result.exit_code == 0, result.output
    assert "brute-force-login" in result.output
    block = re.search(rf"\[block-source\] block_ip via nftables -> {re.escape(top)}\n\s+(.*)", result.output)
    assert block, result.output
    assert block.group(1).startswith("WOULD RUN / SẼ THỰC HIỆN for 3600s")
    as_json = CliRunner().invoke(cli, ["playbooks", "simulate", "--store", url, "--json", str(incident["id"])])
    steps = json.loads(as_json.output)["steps"]
    assert {"step": "block-source", "target": top, "refusals": [], "status": "queued"}.items() <= next(
        s for s in steps if s["step"] == "block-source").items()


def test_simulate_refuses_a_never_block_address(ingested: tuple[str, list[dict[str, object]], str],
                                                tmp_path: Path) -> None:
    url, incidents, top = ingested
    incident = _incident_of(incidents, top)
    config = tmp_path / "response.yml"
    config.write_text(f"safeguards:\n  never_block:\n    national_center:\n      - {{cidr: {top}/32, label: NCSC}}\n")
    result = CliRunner().invoke(cli, ["playbooks", "simulate", "--store", url, "--config", str(config),
                                      str(incident["id"])])
    assert result.exit_code == 0, result.output
    assert (f"REFUSED by safeguard never_block / BỊ TỪ CHỐI bởi never_block: {top}/32 overlaps {top}/32: "
            "national_center (NCSC)") in result.output
    wide = CliRunner().invoke(cli, ["playbooks", "simulate", "--store", url, "--never-block",
                                    top.rsplit(".", 1)[0] + ".0/24", str(incident["id"])])
    assert "REFUSED by safeguard never_block" in wide.output


def test_ingest_planned_actions_and_analyst_decisions(ingested: tuple[str, list[dict[str, object]], str]) -> None:
    url, incidents, top = ingested
    incident = _incident_of(incidents, top)
    runner = CliRunner()
    listed = runner.invoke(cli, ["actions", "list", "--store", url, "--incident", str(incident["id"]), "--json"])
    actions = [json.loads(line) for line in listed.output.splitlines()]
    block = next(a for a in actions if a["step_id"] == "block-source")
    assert block["target"] == top and block["status"] == "queued"  # planned, waiting for a runner
    rejected = runner.invoke(cli, ["actions", "reject", "--store", url, "--by", "analyst", "--reason", "test",
                                   block["id"]])
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    again = runner.invoke(cli, ["actions", "approve", "--store", url, "--by", "analyst", block["id"]])
    assert again.exit_code == 1 and "not awaiting approval" in again.output
    audit = runner.invoke(cli, ["audit", "verify", "--store", url])
    assert audit.exit_code == 0, audit.output
