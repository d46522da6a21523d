"""``soc demo``: the main job on one machine — ingest real sample logs into an embedded
store, run detection, and show what was found (labels in Vietnamese and English).

With the shared corpus present (``../shared/corpus`` or ``$SOC_CORPUS``) it reads real
firewall, server, web and Windows logs from it and the SigmaHQ rules; otherwise it uses the
project's own sample logs (``soc_api/demo_data``) and its built-in rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from ingest.files import read_file_events
from ingest.pipeline import Pipeline, Stats
from soc_api.commands._common import build_detectors, make_parser, open_store_or_fail
from soc_api.i18n import both
from soc_core.clock import SystemClock
from soc_core.contracts import Store
from soc_core.query import parse_query

PACKAGE = Path(__file__).resolve().parent.parent
BUILTIN_RULES = PACKAGE.parent / "rules" / "builtin"
DEMO_DATA = PACKAGE / "demo_data"

# (glob under the corpus, parser): what a provincial SOC receives, one parser per source.
CORPUS_INPUTS: list[tuple[str, str]] = [
    ("beats_filebeat/iptables/log/*.log", "iptables.log"),
    ("beats_filebeat/fortinet/firewall/*.log", "fortinet.firewall"),
    ("beats_filebeat/panw/panos/*.log", "panw.panos"),
    ("beats_filebeat/cisco/asa/*.log", "cisco.asa"),
    ("beats_filebeat/suricata/eve/*.log", "suricata.eve"),
    ("beats_filebeat/system/auth/*.log", "system.auth"),
    ("beats_filebeat/nginx/access/*.log", "nginx.access"),
    ("beats_filebeat/apache/access/*.log", "apache.access"),
    ("evtx/Credential Access/*.evtx", "auto"),
    ("evtx/Lateral Movement/*.evtx", "auto"),
    ("evtx/Execution/*.evtx", "auto"),
]
CORPUS_RULES = ["sigma/sigmahq/rules/windows", "sigma/sigmahq/rules/linux", "sigma/sigmahq/rules/web"]
SAMPLE_INPUTS: list[tuple[str, str]] = [
    ("auth.log", "system.auth"),
    ("iptables.log", "iptables.log"),
    ("nginx_access.log", "nginx.access"),
]


@dataclass
class Plan:
    inputs: list[tuple[Path, str]]
    rules: list[str]
    from_corpus: bool


def find_corpus() -> Path | None:
    """The shared corpus, if this machine has it."""
    candidates = [
        os.environ.get("SOC_CORPUS"),
        PACKAGE.parent.parent / "shared" / "corpus",
        Path.cwd().parent / "shared" / "corpus",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def make_plan(corpus: Path | None) -> Plan:
    if corpus is None:
        return Plan([(DEMO_DATA / name, parser) for name, parser in SAMPLE_INPUTS], [str(BUILTIN_RULES)], False)
    inputs = [(path, parser) for pattern, parser in CORPUS_INPUTS for path in sorted(corpus.glob(pattern))]
    rules = [str(BUILTIN_RULES)] + [str(corpus / r) for r in CORPUS_RULES if (corpus / r).is_dir()]
    return Plan(inputs, rules, True)


def show(store: Store, stats: Stats, plan: Plan, store_url: str) -> None:
    everything = parse_query("*")
    echo = click.echo
    echo("")
    echo(f"== {both('title')} ==")
    if not plan.from_corpus:
        echo(both("sample_note"))
    echo(f"{both('store')}: {store_url}")
    echo(f"{both('inputs')}: {len(plan.inputs)}")
    echo(f"{both('events')}: {store.count('events', everything)}")
    echo(f"{both('dead_letters')}: {store.count('dead_letters', everything)}")
    echo(f"{both('alerts')}: {store.count('alerts', everything)}")
    echo(f"\n-- {both('by_dataset')} --")
    for bucket in store.terms("events", everything, "event.dataset", size=15):
        echo(f"  {bucket.count:>7}  {bucket.key}")
    echo(f"\n-- {both('top_sources')} --")
    for bucket in store.terms("events", everything, "source.ip", size=8):
        echo(f"  {bucket.count:>7}  {bucket.key}")
    echo(f"\n-- {both('top_alerts')} --")
    for bucket in store.terms("alerts", everything, "rule.name", size=15):
        echo(f"  {bucket.count:>7}  {bucket.key}")
    top = store.terms("events", everything, "source.ip", size=1)
    example = f"source.ip:{top[0].key}" if top else "event.outcome:failure"
    echo(f"\n{both('try')}:\n  .venv/bin/soc search --store {store_url} --count '{example}'")
    echo(f"  .venv/bin/soc search --store {store_url} --collection alerts --limit 3 '*'")
    if stats.parser_bugs:
        echo(f"\nwarning: {stats.parser_bugs} events hit a parser bug (kept as dead letters)", err=True)


@click.command("demo")
@click.option("--store", "store_url", default="sqlite:///var/demo.db", show_default=True)
@click.option("--sample", is_flag=True, help="Use the project's own sample logs even when the corpus is present.")
def command(store_url: str, sample: bool) -> None:
    """Ingest sample security logs into an embedded store and show what was found."""
    clock = SystemClock()
    plan = make_plan(None if sample else find_corpus())
    click.echo(f"rules: {', '.join(plan.rules)}")
    detectors = build_detectors(tuple(plan.rules), clock)
    store = open_store_or_fail(store_url)
    total = Stats()
    try:
        parsers = {name: make_parser(name, clock=clock) for name in {p for _, p in plan.inputs}}
        for path, parser_name in plan.inputs:
            parser = parsers[parser_name]
            pipeline = Pipeline(parser, store, detectors, clock=clock)
            stats = pipeline.run(read_file_events(str(path), parser, clock.now()))
            click.echo(f"  {stats.parsed:>6} parsed {stats.failed:>5} failed {stats.alerts:>5} alerts  {path.name}")
            for name in ("received", "parsed", "failed", "alerts", "stored", "duplicates", "parser_bugs"):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
        show(store, total, plan, store_url)
    finally:
        store.close()
