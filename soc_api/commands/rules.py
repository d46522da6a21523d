"""``soc rules``: detection-as-code for Sigma rules (``check`` validates, ``test`` runs samples)."""

from __future__ import annotations

import click

from soc_api.commands.rules_check import command as check_command
from soc_api.commands.rules_test import command as test_command


@click.group("rules")
def command() -> None:
    """Check and test detection rules."""


command.add_command(check_command, "check")
command.add_command(test_command, "test")
