"""``soc audit``: check the hash-chained audit trail (``verify``) and read it (``list``).

``verify`` exits 0 when every entry's hash and link hold, 1 naming the first broken entry.
"""

from __future__ import annotations

import json
import sys

import click

from soc_api.commands._common import open_store_or_fail, store_option
from soc_api.i18n import both
from soc_core.audit import AUDIT_KIND, AuditLog


@click.group("audit")
def command() -> None:
    """The audit trail of incidents, suppressions, playbooks and actions."""


@command.command("verify")
@store_option
def verify_command(store_url: str) -> None:
    """Check every link of the chain; name the first broken entry."""
    store = open_store_or_fail(store_url)
    try:
        log = AuditLog(store.records(AUDIT_KIND))
        broken = log.verify()
        count = sum(1 for _ in log.entries()) if broken is None else None
    finally:
        store.close()
    if broken is None:
        click.echo(f"{both('audit_ok')}: {count} {both('entries')}")
        return
    click.echo(f"{both('audit_broken')} #{broken.seq} (id {broken.id}): {broken.reason}")
    sys.exit(1)


@command.command("list")
@store_option
@click.option("--from-seq", "start", type=int, default=1, show_default=True)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_command(store_url: str, start: int, limit: int, as_json: bool) -> None:
    """Entries in chain order."""
    store = open_store_or_fail(store_url)
    try:
        entries = list(AuditLog(store.records(AUDIT_KIND)).entries(start, limit))
    finally:
        store.close()
    for e in entries:
        if as_json:
            click.echo(json.dumps(e, ensure_ascii=False))
        else:
            click.echo(f"#{e['seq']} {e['ts']} {e['actor']} {e['action']} {e['target']} "
                       f"{json.dumps(e['details'], ensure_ascii=False)}")
