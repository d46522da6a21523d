"""``soc repair``: check a data file (store or queue) and rebuild it from what can be read.

A damaged file is renamed ``FILE.damaged-STAMP`` (kept, never deleted) and a new file is
built from every row that can still be read (see :mod:`soc_store.salvage`). A data
directory in use by a running ``soc run`` is refused: stop the service first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ingest.datadir import LOCK_FILE, DataDirLock
from soc_api.i18n import both
from soc_core.errors import ConfigError, DataFileError
from soc_store.salvage import check, salvage


@click.command("repair")
@click.option("--check", "check_only", is_flag=True, help="Only check; change nothing.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def command(check_only: bool, files: tuple[str, ...]) -> None:
    """Check FILES (store.db, queue.db) and rebuild the damaged ones from what can be read.

    Exit status: 0 when every file is sound or was rebuilt whole, 1 when a file is damaged
    (--check) or rows could not be read back, 2 when a file cannot be repaired at all.
    """
    status = 0
    for name in files:
        path = Path(name)
        findings = check(path)
        if not findings:
            click.echo(f"{path}: {both('repair_ok')}")
            continue
        first = " ".join(findings[0].split())
        if check_only:
            click.echo(f"{path}: {both('repair_damaged')}: {first} ({len(findings)} findings)")
            status = max(status, 1)
            continue
        lock = DataDirLock(path.parent) if (path.parent / LOCK_FILE).exists() else None
        try:
            if lock is not None:
                lock.acquire()  # no service may write while the file is rebuilt
            report = salvage(path)
        except (ConfigError, DataFileError) as exc:
            click.echo(f"{path}: {both('repair_failed')}: {' '.join(str(exc).split())}", err=True)
            status = 2
            continue
        finally:
            if lock is not None:
                lock.release()
        lost = sum(len(t.unreadable) for t in report.tables) + sum(t.error is not None for t in report.tables)
        click.echo(f"{path}: {both('repair_done')}: {report.rows} rows, "
                   f"{lost} unreadable parts; {both('repair_kept')}: {report.damaged_copy}")
        for table in report.tables:
            for after, resumed in table.unreadable:
                click.echo(f"  {table.name}: rowid {after} .. {resumed}: {both('repair_lost')}")
            if table.error:
                click.echo(f"  {table.name}: {table.error}")
        if lost or check(path):
            status = max(status, 1)
    sys.exit(status)
