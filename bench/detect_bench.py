"""Benchmark: the streaming Sigma engine against the SQLite approach, same events, same run.

Loads the SigmaHQ Windows rules, parses every corpus .evtx with the winlog parser,
repeats the events to at least ``--events`` (default 100,000), then times on one core:

* the engine: ``SigmaEngine.match`` on every event (plans built on the fly, included);
* the SQLite approach (Zircolite-style): the same rules converted by
  pysigma-backend-sqlite (sysmon + windows-logsources pipelines), the same events in an
  in-memory table, every query executed; table building is timed apart.

Prints events per second for both, their ratio, and the process's peak memory after
each phase.

    .venv/bin/python bench/detect_bench.py [--events N] [--rules PATH] [--evtx DIR]
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_one
from rules.sigma import SigmaEngine, load_rules, sqlite_oracle
from soc_api.commands._common import make_parser
from soc_core.event import KIND_EVENT, Event

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_events(evtx_dir: Path) -> list[Event]:
    parser = make_parser("winlog")
    stats, bugs = Stats(), BugLogger()
    received = datetime(2026, 1, 1, tzinfo=UTC)
    events = []
    for path in sorted(evtx_dir.rglob("*.evtx")):
        for raw in read_file_events(str(path), parser, received):
            event = parse_one(parser, raw, stats, bugs)
            if event["event"]["kind"] == KIND_EVENT:
                events.append(event)
    return events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rules", default=str(CORPUS / "sigma" / "sigmahq" / "rules" / "windows"))
    ap.add_argument("--evtx", default=str(CORPUS / "evtx"))
    ap.add_argument("--skip-sqlite", action="store_true")
    args = ap.parse_args()

    t = time.perf_counter()
    base = read_events(Path(args.evtx))
    events = (base * (args.events // len(base) + 1))[: max(args.events, len(base))]
    print(f"events: {len(events)} ({len(base)} distinct corpus EVTX records, repeated); "
          f"read in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    ruleset = load_rules([args.rules])
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    engine = SigmaEngine(ruleset)
    compile_s = time.perf_counter() - t
    print(f"rules: {len(ruleset.rules)} loaded in {load_s:.1f} s, compiled in {compile_s:.1f} s "
          f"({len(ruleset.errors)} errors); peak RSS {peak_mb():.0f} MB")

    t = time.perf_counter()
    hits = 0
    for event in events:
        hits += len(engine.match(event))
    engine_s = time.perf_counter() - t
    engine_eps = len(events) / engine_s
    print(f"engine: {engine_eps:,.0f} events/s ({engine_s:.2f} s, {hits} hits, "
          f"{engine.evaluated / len(events):.1f} full rule evaluations per event); peak RSS {peak_mb():.0f} MB")
    if args.skip_sqlite:
        return

    t = time.perf_counter()
    converted = sqlite_oracle.convert(load_rules([args.rules]).rules)
    convert_s = time.perf_counter() - t
    t = time.perf_counter()
    table = sqlite_oracle.EventTable(events)
    table_s = time.perf_counter() - t
    t = time.perf_counter()
    sql_hits = 0
    for _rule, queries in converted.queries:
        for query in queries:
            sql_hits += len(table.run(query))
    sql_s = time.perf_counter() - t
    table.close()
    sql_eps = len(events) / sql_s
    print(f"sqlite: {sql_eps:,.0f} events/s on queries ({sql_s:.2f} s, {sql_hits} hits, "
          f"{len(converted.queries)} rules converted in {convert_s:.1f} s, {len(converted.failures)} not); "
          f"table built in {table_s:.1f} s ({len(events) / (sql_s + table_s):,.0f} events/s with it); "
          f"peak RSS {peak_mb():.0f} MB")
    print(f"ratio: engine is {engine_eps / sql_eps:.1f}x the SQLite approach "
          f"({engine_eps / (len(events) / (sql_s + table_s)):.1f}x counting table building)")


if __name__ == "__main__":
    main()
