"""``soc scan``: YARA over files and folders, one NDJSON ECS alert per match on stdout.

The project's rules (``rules/yara/*.yar``) are always loaded unless ``--no-builtin``;
``--yara`` adds rule files or folders. Rule files that do not compile are reported on
stderr as ``file:line: message`` and the others still run; the exit status is then 1.
Files larger than ``--max-size`` are skipped and counted (see ``--stats``). With
``--store`` the alerts are also stored, like the alerts of other detections (idempotent:
an alert's id derives from rule, file hash and path, so a rescan stores nothing twice).
"""

from __future__ import annotations

import sys

import click

from rules.yara.scanner import DEFAULT_MAX_FILE_BYTES, DEFAULT_TIMEOUT_SECS, YaraScanner, compile_rules
from soc_api.commands._common import open_store_or_fail
from soc_api.commands._inputs import expand_inputs, input_options
from soc_core.contracts import Store
from soc_core.errors import StoreError
from soc_core.event import Event, dumps

STORE_BATCH = 500


@click.command("scan")
@click.option("--yara", "yara_paths", multiple=True, type=click.Path(exists=True),
              help="Extra YARA rule file or folder (repeatable).")
@click.option("--no-builtin", is_flag=True, help="Do not load the project's rules under rules/yara/.")
@click.option("--max-size", "max_size_bytes", default=DEFAULT_MAX_FILE_BYTES, show_default=True, type=int,
              help="Skip files larger than this many bytes.")
@click.option("--timeout", "timeout_secs", default=DEFAULT_TIMEOUT_SECS, show_default=True, type=int,
              help="Per-file scan timeout in seconds.")
@click.option("--stats", is_flag=True, help="Print rule and file counts on stderr.")
@click.option("--store", "store_url", help="Also store the alerts here: sqlite:///path or http(s)://host:port.")
@input_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def command(
    yara_paths: tuple[str, ...], no_builtin: bool, max_size_bytes: int, timeout_secs: int, stats: bool,
    store_url: str | None, include: tuple[str, ...], exclude: tuple[str, ...], paths: tuple[str, ...],
) -> None:
    """Scan PATHS (files or folders, recursively) with YARA rules and print ECS alerts."""
    targets = expand_inputs(paths, include, exclude)
    ruleset = compile_rules(yara_paths, include_builtin=not no_builtin)
    for error in ruleset.errors:
        click.echo(str(error), err=True)
    if ruleset.rules is None:
        raise click.ClickException("no YARA rule compiled")
    scanner = YaraScanner(ruleset, max_file_bytes=max_size_bytes, timeout_secs=timeout_secs)
    store = open_store_or_fail(store_url) if store_url else None
    out = sys.stdout.buffer
    pending: list[Event] = []
    written = duplicates = 0
    try:
        for alert in scanner.scan_paths(targets):
            out.write(dumps(alert) + b"\n")
            if store is not None:
                pending.append(alert)
                if len(pending) >= STORE_BATCH:
                    written, duplicates = _store(store, pending, written, duplicates)
        out.flush()
        if store is not None:
            written, duplicates = _store(store, pending, written, duplicates)
            click.echo(f"stored {written} new alerts, {duplicates} already present", err=True)
    except StoreError as exc:
        raise click.ClickException(f"store error: {exc}") from None
    finally:
        if store is not None:
            store.close()
    if stats:
        s = scanner.stats
        click.echo(
            f"rules={ruleset.rule_count} rule_files={len(ruleset.files)} rule_errors={len(ruleset.errors)} "
            f"scanned={s.scanned} too_large={s.too_large} unreadable={s.unreadable} timeouts={s.timeouts} "
            f"alerts={s.alerts}",
            err=True,
        )
    if ruleset.errors:
        sys.exit(1)


def _store(store: Store, alerts: list[Event], written: int, duplicates: int) -> tuple[int, int]:
    """Write and empty ``alerts``; the running totals. A refused alert is an error: an
    alert must not be lost silently."""
    result = store.write(alerts)
    if result.failed:
        raise StoreError(f"{len(result.failed)} alerts refused: {result.failed[0][1]}")
    alerts.clear()
    return written + result.written, duplicates + result.duplicates
