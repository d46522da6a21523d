"""Incidents over the API: the queue and its filters, the detail, every change with its version,
stale versions answered 409 with nothing lost, and both attempts of a race in the audit trail."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from playbooks.actions import ActionQueue, with_status
from soc_core.contracts import Record
from tests.incidents.helpers import alert
from tests.soc_api.api_helpers import Api, make_api, run


@pytest.fixture
def api(tmp_path: Path) -> Api:
    api = make_api(tmp_path, events=False)
    alerts = [alert("ssh-brute-force", m, source__ip="203.0.113.5", host__name="web1", tags=["attack.t1110"])
              for m in (0, 1, 2)]
    alerts += [alert("port-scan", 5, level=73, tactics=("discovery",), source__ip="198.51.100.7",
                     host__name="db1")]
    api.store.write(alerts)
    api.app.state.incidents.ingest(alerts)
    return api


def incident_on(api: Api, host: str) -> Record:
    found = api.call("GET", "/api/v1/incidents", "analyst", params={"asset": host}).json()["incidents"]
    assert len(found) == 1, found
    detail = api.call("GET", f"/api/v1/incidents/{found[0]['id']}", "analyst").json()
    incident: Record = detail["incident"]
    return incident


def test_the_queue_filters(api: Api) -> None:
    everything = api.call("GET", "/api/v1/incidents", "auditor").json()
    assert len(everything["incidents"]) == 2 and everything["cursor"] is None
    for params, hosts in [({"status": "new"}, {"web1", "db1"}), ({"tactic": "discovery"}, {"db1"}),
                          ({"tactic": "credential-access"}, {"web1"}), ({"asset": "web1"}, {"web1"}),
                          ({"status": "resolved"}, set()), ({"max_age_hours": 1}, {"web1", "db1"}),
                          ({"start": "2099-01-01T00:00:00Z"}, set())]:
        found = api.call("GET", "/api/v1/incidents", "analyst", params=params).json()["incidents"]
        assert {h for i in found for h in i["entities"].get("host.name", [])} == hosts, params
    page = api.call("GET", "/api/v1/incidents", "analyst", params={"limit": 1}).json()
    rest = api.call("GET", "/api/v1/incidents", "analyst", params={"limit": 1, "cursor": page["cursor"]}).json()
    assert len(page["incidents"]) == len(rest["incidents"]) == 1
    assert page["incidents"][0]["id"] != rest["incidents"][0]["id"]


def test_the_detail_has_alerts_and_the_record(api: Api) -> None:
    incident = incident_on(api, "web1")
    detail = api.call("GET", f"/api/v1/incidents/{incident['id']}", "responder").json()
    assert len(detail["alerts"]) == len(incident["alert_ids"]) == 3
    assert {"timeline", "comments", "evidence", "entities", "members"} <= set(detail["incident"])
    assert api.call("GET", "/api/v1/incidents/INC-none", "analyst").status_code == 404


def test_every_change_with_its_version(api: Api) -> None:
    incident = incident_on(api, "web1")
    url = f"/api/v1/incidents/{incident['id']}"
    version = incident["version"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("assign", {"assignee": "an"}), ("status", {"status": "in_progress"}),
        ("comments", {"text": "Kiểm tra nhật ký SSH / checking SSH logs"}),
        ("evidence", {"name": "auth.log excerpt", "text": "Failed password for root from 203.0.113.5"}),
        ("false-positive", {"reason": "an authorised scanner"}),
    ]
    for step, body in steps:
        answer = api.call("POST", f"{url}/{step}", "analyst", json={"version": version, **body})
        assert answer.status_code == 200, (step, answer.text)
        assert answer.json()["version"] == version + 1
        version += 1
    final = api.call("GET", url, "analyst").json()["incident"]
    assert final["assignee"] == "an" and final["status"] == "false_positive"
    assert final["comments"][0]["author"] == "user:analyst" and len(final["evidence"]) == 1
    assert api.call("GET", "/api/v1/incidents", "analyst", params={"assignee": "an"}).json()["incidents"]
    actions = [e["action"] for e in api.call("GET", "/api/v1/audit", "auditor",
                                              params={"target": f"incident:{incident['id']}"}).json()["entries"]]
    assert {"incident.assign", "incident.status", "incident.comment", "incident.evidence"} <= set(actions)


@pytest.mark.parametrize(("step", "body", "code"), [
    ("status", {"status": "bogus"}, "validation_error"),
    ("status", {"status": "in_progress", "version": 0}, "validation_error"),
    ("comments", {"text": ""}, "validation_error"),
    ("assign", {"assignee": "an"}, "validation_error"),  # no version
    ("merge", {"sources": []}, "validation_error"),
])
def test_invalid_changes_are_400(api: Api, step: str, body: dict[str, Any], code: str) -> None:
    incident = incident_on(api, "web1")
    if "version" not in body and step != "assign":
        body = {**body, "version": incident["version"]}
    answer = api.call("POST", f"/api/v1/incidents/{incident['id']}/{step}", "analyst", json=body)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code


def test_a_stale_version_is_409_and_changes_nothing(api: Api) -> None:
    incident = incident_on(api, "web1")
    url = f"/api/v1/incidents/{incident['id']}"
    assert api.call("POST", f"{url}/assign", "analyst", json={"version": incident["version"],
                                                             "assignee": "an"}).status_code == 200
    stale = api.call("POST", f"{url}/comments", "admin", json={"version": incident["version"], "text": "late"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"
    assert api.call("GET", url, "analyst").json()["incident"]["comments"] == []


def test_two_clients_race_one_wins_the_other_gets_409_and_both_are_audited(api: Api) -> None:
    incident = incident_on(api, "web1")
    url = f"/api/v1/incidents/{incident['id']}/status"

    async def race(client: httpx.AsyncClient) -> list[int]:
        answers = await asyncio.gather(
            client.post(url, headers=api.auth("analyst"), json={"version": incident["version"],
                                                               "status": "contained"}),
            client.post(url, headers=api.auth("admin"), json={"version": incident["version"],
                                                             "status": "resolved"}))
        return sorted(a.status_code for a in answers)

    assert run(race, api.app) == [200, 409]
    final = api.call("GET", f"/api/v1/incidents/{incident['id']}", "analyst").json()["incident"]
    assert final["version"] == incident["version"] + 1 and final["status"] in ("contained", "resolved")
    attempts = api.call("GET", "/api/v1/audit", "auditor", params={"action": "api.request", "target": url}).json()
    assert sorted((e["actor"], e["details"]["status"]) for e in attempts["entries"]) == sorted(
        [("user:analyst", 200 if final["status"] == "contained" else 409),
         ("user:admin", 200 if final["status"] == "resolved" else 409)])


def test_merge_and_split(api: Api) -> None:
    web, db = incident_on(api, "web1"), incident_on(api, "db1")
    merged = api.call("POST", f"/api/v1/incidents/{web['id']}/merge", "analyst",
                      json={"version": web["version"], "sources": [db["id"]], "reason": "same attacker"})
    assert merged.status_code == 200 and len(merged.json()["alert_ids"]) == 4
    source = api.call("GET", f"/api/v1/incidents/{db['id']}", "analyst").json()["incident"]
    assert source["merged_into"] == web["id"] and source["status"] == "resolved"
    moved = [m["alert_id"] for m in merged.json()["members"] if m["rule_id"] == "port-scan"]
    stale = api.call("POST", f"/api/v1/incidents/{web['id']}/split", "analyst",
                     json={"version": web["version"], "alert_ids": moved})
    assert stale.status_code == 409
    split = api.call("POST", f"/api/v1/incidents/{web['id']}/split", "analyst",
                     json={"version": merged.json()["version"], "alert_ids": moved, "reason": "a different actor"})
    assert split.status_code == 200 and split.json()["split_from"] == web["id"]
    assert split.json()["alert_ids"] == moved


def test_responses_list_approve_reject_revert(api: Api) -> None:
    incident = incident_on(api, "web1")
    listed = api.call("GET", "/api/v1/actions", "responder", params={"incident": incident["id"]}).json()["actions"]
    assert listed and {a["incident_id"] for a in listed} == {incident["id"]}
    block = next(a for a in listed if a["step_type"] == "block_ip")
    notify = next(a for a in listed if a["step_type"] == "notify")
    # As a playbook that needs approval would have left it.
    ActionQueue.of(api.store).update(block["id"], lambda a: with_status(a, "awaiting_approval", api.clock.now(),
                                                                        "needs approval", needs_approval=True))
    waiting = api.call("GET", "/api/v1/actions", "analyst", params={"status": "awaiting_approval"}).json()
    assert [a["id"] for a in waiting["actions"]] == [block["id"]]
    assert api.call("POST", f"/api/v1/actions/{block['id']}/approve", "analyst").status_code == 403
    approved = api.call("POST", f"/api/v1/actions/{block['id']}/approve", "responder")
    assert approved.status_code == 200 and approved.json()["status"] == "queued"
    again = api.call("POST", f"/api/v1/actions/{block['id']}/approve", "responder")
    assert again.status_code == 409 and "not awaiting approval" in again.json()["error"]["message"]
    rejected = api.call("POST", f"/api/v1/actions/{notify['id']}/reject", "responder", json={"reason": "noisy"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    # Reverting an action that is not done changes nothing and says its state.
    kept = api.call("POST", f"/api/v1/actions/{notify['id']}/revert", "responder", json={})
    assert kept.status_code == 200 and kept.json()["status"] == "rejected"
    history = api.call("GET", f"/api/v1/actions/{block['id']}", "auditor").json()["history"]
    assert history[-1]["note"] == "approved by user:responder"
    decisions = api.call("GET", "/api/v1/audit", "auditor", params={"action": "action."}).json()["entries"]
    assert {(e["action"], e["details"].get("by")) for e in decisions} >= {
        ("action.approve", "user:responder"), ("action.reject", "user:responder")}
    assert api.call("GET", "/api/v1/actions/ACT-none", "responder").status_code == 404
    assert api.call("POST", "/api/v1/actions/ACT-none/approve", "responder").status_code == 404


def test_live_updates_stream_new_alerts_and_incident_changes(api: Api) -> None:
    incident = incident_on(api, "web1")
    late = alert("ssh-brute-force", 9, source__ip="192.0.2.99", host__name="web9")

    async def scenario(client: httpx.AsyncClient) -> str:
        async def change() -> None:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(api.store.write, [late])
            await client.post(f"/api/v1/incidents/{incident['id']}/assign", headers=api.auth("analyst"),
                              json={"version": incident["version"], "assignee": "binh"})

        listened, _ = await asyncio.gather(
            client.get("/api/v1/stream", headers=api.auth("auditor"), params={"poll_secs": 0.2, "max_secs": 2}),
            change())
        assert listened.headers["content-type"].startswith("text/event-stream")
        return listened.text

    text = run(scenario, api.app)
    frames = [f for f in text.split("\n\n") if f.startswith("event:")]
    names = [f.split("\n")[0] for f in frames]
    # Only what happened after connecting: one alert, one incident change (none of the older ones).
    assert names == ["event: alert", "event: incident"] or names == ["event: incident", "event: alert"], text
    assert late["event"]["id"] in text and '"assignee":"binh"' in text
