"""``soc keys``: API keys for programs (create, list, revoke); each has a role and an expiry.

The secret is printed once by ``create`` and stored only as its SHA-256.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from soc_api.commands._common import store_option
from soc_api.commands._incidents import actor_option
from soc_api.commands.users import accounts_of, role_option


@click.group("keys")
def command() -> None:
    """Manage API keys."""


@command.command("create")
@store_option
@role_option
@click.option("--expires-days", type=click.IntRange(1, 3650), default=90, show_default=True)
@actor_option
@click.argument("name")
def create(store_url: str, role: str, expires_days: int, actor: str, name: str) -> None:
    """Create a key named NAME; prints the secret (shown only this once)."""
    with accounts_of(store_url) as accounts:
        secret, record = accounts.create_key(name, role, datetime.now(UTC) + timedelta(days=expires_days), actor)
    click.echo(f"key {record['id']} ({name}, role {role}, expires {record['expires']})", err=True)
    click.echo(secret)


@command.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def list_keys(store_url: str, as_json: bool) -> None:
    """List keys (never their secrets)."""
    with accounts_of(store_url) as accounts:
        keys = sorted(accounts.keys(), key=lambda k: k["created"])
    if as_json:
        click.echo(json.dumps([{k: v for k, v in key.items() if k != "sha256"} for key in keys], indent=2))
        return
    for key in keys:
        state = "revoked" if key.get("revoked") else f"expires {key['expires']}"
        click.echo(f"{key['id']}  {key['name']:<24} {key['role']:<11} {state}")


@command.command("revoke")
@store_option
@actor_option
@click.argument("key_id")
def revoke(store_url: str, actor: str, key_id: str) -> None:
    """Revoke the key KEY_ID at once."""
    with accounts_of(store_url) as accounts:
        accounts.revoke_key(key_id, actor)
    click.echo(f"key {key_id} revoked")
