"""``soc scan``: YARA over files and folders, one NDJSON ECS alert per match on stdout.

The project's rules (``rules/yara/*.yar``) are always loaded unless ``--no-builtin``;
``--yara`` adds rule files or folders. Rule files that do not compile are reported on
stderr as ``file:line: message`` and the others still run; the exit status is then 1.
Files larger than ``--max-size`` are skipped and counted (see ``--stats``).
"""

from __future__ import annotations

import sys

import click

from rules.yara.scanner import DEFAULT_MAX_FILE_BYTES, DEFAULT_TIMEOUT_SECS, YaraScanner, compile_rules
from soc_api.commands._inputs import expand_inputs, input_options
from soc_core.event import dumps


@click.command("scan")
@click.option("--yara", "yara_paths", multiple=True, type=click.Path(exists=True),
              help="Extra YARA rule file or folder (repeatable).")
@click.option("--no-builtin", is_flag=True, help="Do not load the project's rules under rules/yara/.")
@click.option("--max-size", "max_size_bytes", default=DEFAULT_MAX_FILE_BYTES, show_default=True, type=int,
              help="Skip files larger than this many bytes.")
@click.option("--timeout", "timeout_secs", default=DEFAULT_TIMEOUT_SECS, show_default=True, type=int,
              help="Per-file scan timeout in seconds.")
@click.option("--stats", is_flag=True, help="Print rule and file counts on stderr.")
@input_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def command(
    yara_paths: tuple[str, ...], no_builtin: bool, max_size_bytes: int, timeout_secs: int, stats: bool,
    include: tuple[str, ...], exclude: tuple[str, ...], paths: tuple[str, ...],
) -> None:
    """Scan PATHS (files or folders, recursively) with YARA rules and print ECS alerts."""
    targets = expand_inputs(paths, include, exclude)
    ruleset = compile_rules(yara_paths, include_builtin=not no_builtin)
    for error in ruleset.errors:
        click.echo(str(error), err=True)
    if ruleset.rules is None:
        raise click.ClickException("no YARA rule compiled")
    scanner = YaraScanner(ruleset, max_file_bytes=max_size_bytes, timeout_secs=timeout_secs)
    out = sys.stdout.buffer
    for alert in scanner.scan_paths(targets):
        out.write(dumps(alert) + b"\n")
    out.flush()
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
