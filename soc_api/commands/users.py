"""``soc users``: accounts of the people who use the API (add, list, disable, set-role).

``add --password-stdin`` reads the password from the first line of standard input, so scripts
and provisioning tools create accounts without a prompt; without it the password is asked twice.
Every change is in the audit trail with the account that made it (``--actor``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from soc_api.accounts import ROLES, Accounts, public_user
from soc_api.commands._common import open_store_or_fail, store_option
from soc_api.commands._incidents import actor_option
from soc_core.errors import ConfigError, NotFound, StoreError

role_option = click.option("--role", type=click.Choice(ROLES), required=True, help="The account's role.")


@contextmanager
def accounts_of(store_url: str) -> Iterator[Accounts]:
    """The accounts of a store; our errors become one-line CLI errors."""
    store = open_store_or_fail(store_url)
    try:
        yield Accounts(store)
    except (ConfigError, NotFound) as exc:
        raise click.ClickException(str(exc)) from None
    except StoreError as exc:
        raise click.ClickException(f"store error: {exc}") from None
    finally:
        store.close()


@click.group("users")
def command() -> None:
    """Manage API user accounts."""


@command.command("add")
@store_option
@role_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (first line).")
@actor_option
@click.argument("name")
def add(store_url: str, role: str, password_stdin: bool, actor: str, name: str) -> None:
    """Create the user NAME with a role and a password."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with accounts_of(store_url) as accounts:
        user = accounts.add_user(name, role, password, actor)
    click.echo(f"user {user['id']} added with role {user['role']}")


@command.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def list_users(store_url: str, as_json: bool) -> None:
    """List users, their role and state."""
    with accounts_of(store_url) as accounts:
        users = sorted((public_user(u) for u in accounts.users()), key=lambda u: u["id"])
    if as_json:
        click.echo(json.dumps(users, indent=2))
        return
    for user in users:
        state = "disabled" if user.get("disabled") else ("locked" if user.get("locked_until") else "active")
        click.echo(f"{user['id']:<24} {user['role']:<11} {state}")


@command.command("disable")
@store_option
@actor_option
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@click.argument("name")
def disable(store_url: str, actor: str, enable: bool, name: str) -> None:
    """Disable the user NAME (their tokens stop working at once)."""
    with accounts_of(store_url) as accounts:
        accounts.set_disabled(name, not enable, actor)
    click.echo(f"user {name} {'enabled' if enable else 'disabled'}")


@command.command("set-role")
@store_option
@role_option
@actor_option
@click.argument("name")
def set_role(store_url: str, role: str, actor: str, name: str) -> None:
    """Give the user NAME another role."""
    with accounts_of(store_url) as accounts:
        accounts.set_role(name, role, actor)
    click.echo(f"user {name} now has role {role}")
