"""The audit trail over the API: every write by an account is in it (refused ones too), filters,
and the verification of the hash chain (a changed entry is named)."""

from __future__ import annotations

from pathlib import Path

import pytest

from soc_core.audit import AUDIT_KIND, entry_id
from tests.soc_api.api_helpers import Api, make_api


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return make_api(tmp_path, events=False)


def test_every_write_is_audited_with_the_account_and_outcome(api: Api) -> None:
    assert api.call("POST", "/api/v1/keys", "admin", json={"name": "ticketing", "role": "analyst"}).status_code == 201
    assert api.call("POST", "/api/v1/keys", "analyst", json={"name": "x", "role": "admin"}).status_code == 403
    assert api.call("POST", "/api/v1/keys", "admin", json={"name": "", "role": "admin"}).status_code == 400
    requests = api.call("GET", "/api/v1/audit", "auditor", params={"action": "api.request"}).json()["entries"]
    assert [(e["actor"], e["target"], e["details"]["status"]) for e in requests] == [
        ("user:admin", "/api/v1/keys", 201), ("user:analyst", "/api/v1/keys", 403), ("user:admin", "/api/v1/keys", 400)]
    made = api.call("GET", "/api/v1/audit", "auditor", params={"action": "key.create"}).json()["entries"]
    assert len(made) == 1 and made[0]["actor"] == "user:admin" and made[0]["details"]["role"] == "analyst"
    # Reads are not writes: nothing added for them.
    before = len(api.call("GET", "/api/v1/audit", "auditor", params={"limit": 1000}).json()["entries"])
    api.call("GET", "/api/v1/auth/me", "analyst")
    assert len(api.call("GET", "/api/v1/audit", "auditor", params={"limit": 1000}).json()["entries"]) == before


def test_filters_and_paging(api: Api) -> None:
    for n in range(5):
        api.call("PATCH", "/api/v1/users/analyst", "admin", json={"disabled": n % 2 == 0})
    first = api.call("GET", "/api/v1/audit", "auditor", params={"actor": "user:admin", "target": "user:analyst",
                                                                 "limit": 3}).json()
    assert len(first["entries"]) == 3 and first["next_seq"] is not None
    rest = api.call("GET", "/api/v1/audit", "auditor", params={"actor": "user:admin", "target": "user:analyst",
                                                                "from_seq": first["next_seq"]}).json()
    assert len(rest["entries"]) == 2 and rest["next_seq"] is None
    assert [e["action"] for e in first["entries"] + rest["entries"]] == ["user.disable", "user.enable"] * 2 + [
        "user.disable"]
    later = api.call("GET", "/api/v1/audit", "auditor", params={"start": "2099-01-01T00:00:00Z"}).json()
    assert later["entries"] == []


def test_verification_names_a_changed_entry(api: Api) -> None:
    api.call("PATCH", "/api/v1/users/analyst", "admin", json={"role": "auditor"})
    assert api.call("GET", "/api/v1/audit/verify", "auditor").json() == {
        "ok": True, "broken_seq": None, "broken_id": None, "reason": None}
    repo = api.store.records(AUDIT_KIND)
    entry = repo.get(entry_id(2))
    repo.put({**entry, "actor": "user:somebody-else"}, entry["version"])
    broken = api.call("GET", "/api/v1/audit/verify", "auditor").json()
    assert broken["ok"] is False and broken["broken_seq"] == 2 and broken["reason"]
