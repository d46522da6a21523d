"""``soc users`` and ``soc keys``: non-interactive account creation, listing, roles, disabling,
and API keys whose secret is printed once and works against the API."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from soc_api.accounts import Accounts
from soc_api.cli import cli
from soc_core.audit import AUDIT_KIND, AuditLog
from soc_store.sqlite import SqliteStore


def soc(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, env={"SOC_ACTOR": "cli:tester"})
    return result.exit_code, result.output


def test_users_add_list_set_role_disable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, out = soc("users", "add", "--store", url, "lan", "--role", "analyst", "--password-stdin",
                    stdin="một mật khẩu dài\n")
    assert code == 0 and "lan" in out
    code, out = soc("users", "add", "--store", url, "lan", "--role", "admin", "--password-stdin",
                    stdin="another long one\n")
    assert code == 1 and "already exists" in out
    code, out = soc("users", "add", "--store", url, "hoa", "--role", "analyst", "--password-stdin", stdin="short\n")
    assert code == 1 and "too short" in out
    assert soc("users", "set-role", "--store", url, "--role", "responder", "lan")[0] == 0
    assert soc("users", "disable", "--store", url, "lan")[0] == 0
    code, out = soc("users", "list", "--store", url, "--json")
    users = json.loads(out)
    assert [(u["id"], u["role"], u["disabled"]) for u in users] == [("lan", "responder", True)]
    assert "password_hash" not in out
    assert soc("users", "disable", "--store", url, "nobody")[0] == 1
    store = SqliteStore(tmp_path / "store.db")
    try:
        entries = list(AuditLog(store.records(AUDIT_KIND)).entries())
        assert [(e["actor"], e["action"]) for e in entries] == [
            ("cli:tester", "user.add"), ("cli:tester", "user.set_role"), ("cli:tester", "user.disable")]
        assert Accounts(store).user("lan")["password_hash"].startswith("$argon2id$")
    finally:
        store.close()


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, out = soc("keys", "create", "--store", url, "--role", "auditor", "--expires-days", "30", "ticketing")
    assert code == 0
    secret = out.strip().splitlines()[-1]
    store = SqliteStore(tmp_path / "store.db")
    try:
        principal = Accounts(store).check_key(secret)
        assert principal.role == "auditor"
    finally:
        store.close()
    code, out = soc("keys", "list", "--store", url, "--json")
    keys = json.loads(out)
    assert len(keys) == 1 and "sha256" not in keys[0] and secret not in out
    assert soc("keys", "revoke", "--store", url, keys[0]["id"])[0] == 0
    code, out = soc("keys", "list", "--store", url)
    assert "revoked" in out
