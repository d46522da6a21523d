"""``soc rules check``: validate Sigma rules offline, one ``file:line: message`` per issue.

Exit status: 0 when nothing at or above ``--fail-on`` was found, 1 otherwise (rules that
do not load or cannot run are always failures). The summary goes to stderr.
"""

from __future__ import annotations

import click

from rules.check.validate import SEVERITIES, UNAVAILABLE, all_validators, check_paths
from soc_core.errors import RuleError


@click.command("check")
@click.option("--exclude", "excluded", multiple=True, metavar="VALIDATOR",
              help="Skip a validator by name (repeatable; see --list).")
@click.option("--no-sigmahq", is_flag=True, help="Only pySigma's core validators, not SigmaHQ's conventions.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="low", show_default=True,
              help="Lowest issue severity that makes the exit status 1.")
@click.option("--list", "list_validators", is_flag=True, help="List the validators and exit.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def command(excluded: tuple[str, ...], no_sigmahq: bool, fail_on: str, list_validators: bool,
            paths: tuple[str, ...]) -> None:
    """Validate the Sigma rules in PATHS (files or folders) without network access."""
    if list_validators:
        for name in all_validators(not no_sigmahq):
            click.echo(name)
        for name in sorted(UNAVAILABLE):
            click.echo(f"{name} (unavailable offline: no data shipped)")
        return
    if not paths:
        raise click.UsageError("give at least one rule file or folder")
    try:
        result = check_paths(list(paths), exclude=excluded, sigmahq=not no_sigmahq)
    except RuleError as exc:
        raise click.UsageError(str(exc)) from None
    for issue in result.issues:
        click.echo(str(issue))
    threshold = SEVERITIES.index(fail_on)
    failing = [i for i in result.issues if SEVERITIES.index(i.severity) >= threshold]
    click.echo(
        f"{result.files} files, {result.rules} rules, {len(result.validators)} validators: "
        f"{len(result.issues)} issues ({len(failing)} at or above {fail_on})",
        err=True,
    )
    if failing:
        raise SystemExit(1)
