"""``soc config check FILE``: validate a configuration file before a service uses it.

The file is read as ``soc run --config FILE`` reads it (``soc_core.config`` validates its
structure; ``soc_api.config_file`` maps it onto every command and checks each value
against the option's type). One line per command it configures on success; the first
problem, naming the key, and exit status 1 otherwise.
"""

from __future__ import annotations

import importlib

import click

from soc_core.config import load_settings
from soc_core.errors import ConfigError


@click.group("config")
def command() -> None:
    """Configuration files (soc.toml)."""


@command.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def check(path: str) -> None:
    """Validate PATH: its structure, and every value against the command options it sets.

    \b
    Top-level keys: store, timezone, rules, inputs ([[inputs]] tables: type, listen,
    paths, parser, options), queue_path, max_batch_events, flush_interval_secs,
    retention_days; [command.NAME] tables: any option of `soc NAME` by its long name.
    """
    from soc_api.cli import COMMANDS
    from soc_api.config_file import defaults_for, file_values

    try:
        settings = load_settings(path, environ={})
        known = set(COMMANDS) - {"config"}
        for name in settings.command:
            if name not in known:
                raise ConfigError(f"command.{name}: no such command (one of {', '.join(sorted(known))})")
        lines = []
        for name in sorted(known):
            target = importlib.import_module(COMMANDS[name][0]).command
            if isinstance(target, click.Group):
                continue
            with click.Context(target, info_name=name) as ctx:
                defaults = defaults_for(ctx, target, settings)
            if defaults:
                lines.append(f"  soc {name}: {', '.join(sorted(file_values(target, settings)))}")
    except ConfigError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    click.echo(f"{path}: valid")
    for line in lines:
        click.echo(line)
