"""``soc rules test``: each rule against its sample events (SigmaHQ regression_data layout).

Rules load from PATHs; cases (``info.yml``) come from ``--data`` folders, or from the
``regression_data`` folder found next to the rule paths or one of their parents. Samples
are read by the parsers (``--parser``, default ``auto``). Exit status 1 when a sample
fails (a sample giving no event fails too), or when a rule file does not load: for CI.
"""

from __future__ import annotations

import click

from rules.sigma import SigmaEngine, load_placeholders, load_rules
from soc_api.commands._common import parser_option
from soc_api.regression import find_regression_dirs, iter_cases, run_cases
from soc_core.errors import RuleError


@click.command("test")
@parser_option
@click.option("--data", "data_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of regression cases (info.yml + samples); repeatable.")
@click.option("--placeholders", "placeholders_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML mapping of %placeholder% names to values, for the expand modifier.")
@click.option("--verbose", "-v", is_flag=True, help="List passing samples too.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def command(parser_name: str, data_dirs: tuple[str, ...], placeholders_file: str | None, verbose: bool,
            paths: tuple[str, ...]) -> None:
    """Run every rule under PATHS against its positive and negative samples.

    \b
    Layout (SigmaHQ's regression_data), one folder per case:
      regression_data/<any path>/info.yml
        rule_metadata:          [{id: <rule id>}]
        regression_tests_info:  [{name: ..., type: evtx|json|log, path: <sample>,
                                  match_count: N}]
      the sample files next to info.yml (or at `path` from the repository root)

    \b
    Samples are read by the parsers (--parser, default auto): .evtx files and JSON
    exports of Windows events, syslog and other text logs one event per line, and
    ECS NDJSON (one ECS document per line, stored as it is). A test whose name
    contains "negative" must match no event, any other at least one; a sample that
    gives no event at all fails.
    """
    try:
        placeholders = load_placeholders(placeholders_file) if placeholders_file else None
        ruleset = load_rules(list(paths), placeholders)
        engine = SigmaEngine(ruleset)
        dirs = list(data_dirs) or find_regression_dirs(list(paths))
        if not dirs:
            raise click.UsageError("no regression_data folder found: give one with --data")
        report = run_cases(engine, list(iter_cases(dirs)), parser_name=parser_name)
    except RuleError as exc:
        raise click.ClickException(str(exc)) from None
    for err in ruleset.errors:
        click.echo(f"ERROR {err}")
    for outcome in report.outcomes:
        if outcome.ok and not verbose:
            continue
        status = "PASS" if outcome.ok else "FAIL"
        title = next((r.title for r in engine.rules if str(r.id) == outcome.case.rule_id), "")
        line = (f"{status} {outcome.case.rule_id} {title!r} [{outcome.sample.name}] "
                f"{outcome.matched}/{outcome.events} events matched")
        if outcome.reason:
            line += f": {outcome.reason}"
        if outcome.note:
            line += f" ({outcome.note})"
        click.echo(line)
    passed = len(report.outcomes) - len(report.failed)
    click.echo(f"samples: {passed} passed, {len(report.failed)} failed; rules: {len(ruleset.rules)} loaded, "
               f"{len(ruleset.errors)} broken, {len(report.untested_rules)} without samples")
    if report.failed or ruleset.errors:
        raise SystemExit(1)
