"""The ``soc`` command line: one group, each command in its own module, loaded lazily.

Command modules live in :mod:`soc_api.commands`; each exposes a click command named
``command``. Loading lazily keeps ``soc parse`` from importing the Sigma engine.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("soc_api.commands.parse", "Parse log files to ECS events (NDJSON on stdout)."),
    "ingest": ("soc_api.commands.ingest", "Parse, detect and store log files."),
    "search": ("soc_api.commands.search", "Search stored events with the analyst query language."),
    "run": ("soc_api.commands.run", "Run the service: receivers, pipeline, API."),
    "status": ("soc_api.commands.status", "Show the counters of a running service."),
    "detect": ("soc_api.commands.detect", "Run Sigma rules over events and print alerts."),
    "rules": ("soc_api.commands.rules", "Check and test detection rules."),
    "hunt": ("soc_api.commands.hunt", "Run rules over stored events (retro-hunt)."),
    "scan": ("soc_api.commands.scan", "Scan files with YARA rules."),
    "playbooks": ("soc_api.commands.playbooks", "Check response playbooks and simulate them on an incident."),
    "actions": ("soc_api.commands.actions", "List, approve, reject, revert and run response actions."),
    "worker": ("soc_api.commands.worker", "Run a Celery worker for response actions."),
    "incidents": ("soc_api.commands.incidents", "List, show and work incidents (assign, status, evidence, merge...)."),
    "suppressions": ("soc_api.commands.suppressions", "Add, list and remove alert suppressions."),
    "overrides": ("soc_api.commands.overrides", "Set, list and remove per-rule severity overrides."),
    "audit": ("soc_api.commands.audit", "Verify and list the hash-chained audit trail."),
    "intel": ("soc_api.commands.intel", "Threat intelligence: import, match, share (TAXII, MISP)."),
    "anomaly": ("soc_api.commands.anomaly", "Anomaly models: train on normal traffic, score, explain."),
    "repair": ("soc_api.commands.repair", "Check a store or queue file and rebuild it from what can be read."),
    "users": ("soc_api.commands.users", "Manage API user accounts and roles."),
    "keys": ("soc_api.commands.keys", "Manage API keys for programs."),
    "demo": ("soc_api.commands.demo", "Ingest sample data into an embedded store and show what was found."),
    "config": ("soc_api.commands.config", "Check a configuration file (soc.toml)."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = module.command
        from soc_api.config_file import config_param

        targets = list(command.commands.values()) if isinstance(command, click.Group) else [command]
        for target in targets:
            if not isinstance(target, click.Group) and not any(p.name == "config" for p in target.params):
                target.params.insert(0, config_param())  # every command reads --config FILE
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists the one-line summaries without importing every command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])


@click.group(cls=LazyGroup)
@click.version_option(package_name="soc-pipeline")
def cli() -> None:
    """SOC pipeline and SIEM toolkit."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``soc`` script."""
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="soc")
