"""Accounts over the API: login, tokens, lockout and throttling, API keys, user administration,
and the token secret (no working default outside --dev)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ingest.queue import DurableQueue
from ingest.service import Service
from soc_api.accounts import MAX_FAILURES, Accounts
from soc_api.app import ApiSettings, build_app
from soc_api.auth import DEV_SECRET, TokenSigner, token_secret
from soc_api.commands._common import make_parser
from soc_core.audit import AUDIT_KIND, AuditLog
from soc_core.errors import ConfigError
from tests.soc_api.api_helpers import FAST_HASHER, PASSWORD, STATIC_KEY, Api, make_api, run


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return make_api(tmp_path, events=False)


def login(api: Api, user: str, password: str) -> tuple[int, dict[str, object]]:
    answer = api.call("POST", "/api/v1/auth/login", json={"username": user, "password": password})
    return answer.status_code, answer.json()


def test_login_gives_a_token_that_expires(api: Api) -> None:
    status, body = login(api, "analyst", PASSWORD)
    assert status == 200 and body["token_type"] == "bearer"
    token = {"Authorization": f"Bearer {body['token']}"}
    me = api.call("GET", "/api/v1/auth/me", headers=token)
    assert me.json() == {"actor": "user:analyst", "role": "analyst"}
    api.clock.advance(timedelta(minutes=16))
    assert api.call("GET", "/api/v1/auth/me", headers=token).status_code == 401


@pytest.mark.parametrize("body", [{}, {"username": "analyst"}, {"username": "", "password": "x"}, []])
def test_a_malformed_login_is_400(api: Api, body: object) -> None:
    answer = api.call("POST", "/api/v1/auth/login", json=body)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "validation_error"


def test_wrong_passwords_lock_the_account_then_it_opens_again(api: Api) -> None:
    assert login(api, "nobody", PASSWORD)[0] == 401
    for _ in range(MAX_FAILURES - 1):
        assert login(api, "analyst", "wrong password")[0] == 401
    status, body = login(api, "analyst", "wrong password")
    assert status == 401 and body["error"]["code"] == "locked_out"  # type: ignore[index]
    # Locked: even the right password is refused until the lockout ends.
    assert login(api, "analyst", PASSWORD)[1]["error"]["code"] == "locked_out"  # type: ignore[index]
    api.clock.advance(timedelta(minutes=16))
    assert login(api, "analyst", PASSWORD)[0] == 200
    actions = [e["action"] for e in AuditLog(api.store.records(AUDIT_KIND)).entries()]
    assert actions.count("auth.login_failed") == MAX_FAILURES + 2 and "user.lockout" in actions


def test_one_address_is_throttled_after_ten_failures(api: Api) -> None:
    for n in range(10):
        assert login(api, f"guess{n}", "wrong password")[0] == 401
    status, body = login(api, "analyst", PASSWORD)
    assert status == 429 and body["error"]["code"] == "too_many_attempts"  # type: ignore[index]
    api.clock.advance(timedelta(minutes=1, seconds=1))
    assert login(api, "analyst", PASSWORD)[0] == 200


def test_disabling_or_changing_a_role_applies_to_live_tokens(api: Api) -> None:
    changed = api.call("PATCH", "/api/v1/users/analyst", "admin", json={"role": "auditor"})
    assert changed.status_code == 200 and "password_hash" not in changed.json()
    assert api.call("GET", "/api/v1/audit", "analyst").status_code == 200  # now an auditor
    api.call("PATCH", "/api/v1/users/analyst", "admin", json={"disabled": True})
    assert api.call("GET", "/api/v1/auth/me", "analyst").status_code == 401
    assert login(api, "analyst", PASSWORD)[0] == 401


def test_admin_manages_users(api: Api) -> None:
    created = api.call("POST", "/api/v1/users", "admin", json={"name": "minh", "role": "responder",
                                                               "password": "mật khẩu đủ dài"})
    assert created.status_code == 201 and created.json()["role"] == "responder"
    assert login(api, "minh", "mật khẩu đủ dài")[0] == 200
    again = api.call("POST", "/api/v1/users", "admin", json={"name": "minh", "role": "admin", "password": "x" * 12})
    assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
    bad = api.call("POST", "/api/v1/users", "admin", json={"name": "x", "role": "root", "password": "x" * 12})
    assert bad.status_code == 400
    listed = api.call("GET", "/api/v1/users", "admin").json()
    assert "minh" in {u["id"] for u in listed} and all("password_hash" not in u for u in listed)
    assert api.call("PATCH", "/api/v1/users/nobody", "admin", json={"disabled": True}).status_code == 404


def test_api_keys_have_a_role_an_expiry_and_can_be_revoked(api: Api) -> None:
    made = api.call("POST", "/api/v1/keys", "admin", json={"name": "ticketing", "role": "auditor",
                                                           "expires_in_days": 1})
    assert made.status_code == 201
    secret, key = made.json()["secret"], made.json()["key"]
    assert secret not in str(api.store.records("api_keys").get(key["id"]))  # stored hashed
    assert api.call("GET", "/api/v1/audit", headers={"X-API-Key": secret}).status_code == 200
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.call("GET", "/api/v1/auth/me", headers=bearer).json() == {"actor": f"key:{key['id']}",
                                                                        "role": "auditor"}
    assert api.call("GET", "/api/v1/users", headers=bearer).status_code == 403
    assert api.call("GET", "/api/v1/auth/me", headers={"X-API-Key": secret[:-1] + "x"}).status_code == 401
    api.clock.advance(timedelta(days=1, seconds=1))
    assert api.call("GET", "/api/v1/auth/me", headers=bearer).status_code == 401
    api.clock.advance(timedelta(days=-1, seconds=-2))
    assert api.call("DELETE", f"/api/v1/keys/{key['id']}", "admin").status_code == 200
    assert api.call("GET", "/api/v1/auth/me", headers=bearer).status_code == 401
    assert api.call("GET", "/api/v1/keys", "admin").json()[0]["revoked"] is True


def test_the_service_keys_of_soc_run_read_as_analyst(api: Api) -> None:
    headers = {"X-API-Key": STATIC_KEY}
    assert api.call("GET", "/api/v1/auth/me", headers=headers).json() == {"actor": "service:api-key",
                                                                         "role": "analyst"}
    assert api.call("GET", "/api/v1/audit", headers=headers).status_code == 403


def test_the_secret_is_generated_once_per_store_and_shared(api: Api, tmp_path: Path) -> None:
    first = token_secret(api.store)
    assert len(first) >= 32 and first != DEV_SECRET and token_secret(api.store) == first
    # A second API process on the same store accepts the first one's tokens.
    service = Service([], DurableQueue(tmp_path / "q2.db"), lambda: api.store, make_parser)
    other = build_app(service, api.store, [], ApiSettings(clock=api.clock, password_hasher=FAST_HASHER))
    answer = run(lambda c: c.get("/api/v1/auth/me", headers=api.auth("admin")), other)
    assert answer.status_code == 200


def test_dev_mode_and_configured_secrets(api: Api) -> None:
    assert token_secret(api.store, dev=True) == DEV_SECRET
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        token_secret(api.store, "short")
    mine = "x" * 40
    assert token_secret(api.store, mine) == mine.encode()
    # A token signed with another secret is refused.
    forged, _ = TokenSigner(DEV_SECRET, api.clock).issue("admin")
    assert api.call("GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_passwords_are_argon2_hashes(api: Api) -> None:
    stored = api.store.records("users").get("analyst")
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in str(stored)
    with pytest.raises(ConfigError, match="too short"):
        Accounts(api.store, hasher=FAST_HASHER).add_user("short", "analyst", "123", "test")
