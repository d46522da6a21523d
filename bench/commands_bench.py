"""Whole-command benchmark: ``soc detect``, ``soc parse`` and ``soc run`` as a user runs them,
side by side with the tools they would use instead, in the same run.

Every figure is a whole process on the same input, started by this script, pinned to one
core with ``taskset`` when it exists (``--cpu``, default the last core), timed by wall
clock and by the CPU seconds the kernel charged to it (``wait4``): on a shared machine the
CPU figure is the steadier one, and the ratios (taken between runs made one right after the
other, alternating) are what to read. Each comparison is repeated ``--repeat`` times; the
median and the range are printed.

* machine: load average, cores, and a calibration (a 2M-step Python loop, as in
  ``parse_bench.py``) so that figures from different machines can be related;
* start-up: ``soc --help``; ``soc parse`` of a one-line file; ``soc detect`` with the
  SigmaHQ Windows rules over the smallest corpus EVTX file, cold (empty rule-set cache)
  and warm (second run);
* detect: ``soc detect --rules <SigmaHQ rules/windows>`` over the corpus EVTX folder (x1)
  and the folder ten times (x10: a temporary folder of symbolic links, each corpus file
  ten times under another name) against ``bench/sigma_sqlite_run.py`` (pySigma's SQLite
  backend, Zircolite's approach, end to end from the same EVTX files; the rules converted
  once beforehand, as Zircolite ships its rule sets converted) and, when ``$ZIRCOLITE``
  names a Zircolite checkout, ``zircolite.py`` itself; the rate without start-up is the
  events over (time - warm start-up);
* parse: ``soc parse --parser iptables.log`` over N iptables lines (the Filebeat fixture
  lines repeated) against syslog-ng's ``kv-parser`` + ``format-json``, and ``soc parse``
  (``auto``) over the mixed stream of ``parse_bench.py`` against syslog-ng's plain syslog
  parse + ``format-json``; syslog-ng reads the file from a pipe (its ``stdin()`` source,
  which stops at the end of input). Without syslog-ng the column is skipped: install it
  with ``apt-get install syslog-ng-core``; where that package conflicts with rsyslog
  (both are the system logger), unpack it aside instead and name the folder in
  ``$SYSLOG_NG_ROOT``: ``apt-get download syslog-ng-core && dpkg -x
  syslog-ng-core_*.deb /opt/syslog-ng-bench``. The engine figure of the same lines (parse +
  serialise in this process, as ``parse_bench.py`` measures it) is printed beside;
* run: ``bench/ingest_bench.py`` (TCP syslog into ``soc run`` and the embedded store),
  pinned to the same core, with its start-up.

    .venv/bin/python bench/commands_bench.py [--only detect,parse,run,startup] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from parse_bench import MIXED, OPTIONS, WAF_POOLS, fixture_lines, interleave  # noqa: E402

SOC = [sys.executable, "-c", "from soc_api.cli import main; main()"]


@dataclass
class Timing:
    """One process: wall seconds, CPU seconds charged to it, what it printed on stderr."""

    wall: float
    cpu: float
    stderr: str


def pinned(cmd: Sequence[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else list(cmd)


def run_process(cmd: Sequence[str], env: dict[str, str] | None = None, stdin_file: Path | None = None,
                stdout: IO[bytes] | int = subprocess.DEVNULL, cwd: Path = ROOT) -> Timing:
    """Run ``cmd`` to its end; ``stdin_file`` is fed through a pipe (syslog-ng needs one)."""
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after wait4
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=err,
                            stdin=subprocess.PIPE if stdin_file else subprocess.DEVNULL)
    feeder = None
    if stdin_file is not None:
        def feed() -> None:
            assert proc.stdin is not None
            with stdin_file.open("rb") as source:
                shutil.copyfileobj(source, proc.stdin, 1 << 20)
            proc.stdin.close()

        feeder = threading.Thread(target=feed)
        feeder.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if feeder is not None:
        feeder.join(60)
    err.seek(0)
    text = err.read().decode(errors="replace")
    err.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}... exited {proc.returncode}: {text[-2000:]}")
    return Timing(wall, usage.ru_utime + usage.ru_stime, text)


def spread(values: Sequence[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def soc_env(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SOC_CACHE_DIR": str(cache_dir)}


def calibrate() -> float:
    start = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    return time.process_time() - start


# --- start-up ------------------------------------------------------------------------------


def bench_startup(args: argparse.Namespace, tmp: Path) -> float:
    """Prints start-up figures; returns the warm ``soc detect`` start-up (CPU s)."""
    env = soc_env(tmp / "startup-cache")
    one_line = tmp / "one.log"
    one_line.write_text("<13>Nov 22 12:00:00 host sshd[1]: Accepted password for root from 10.0.0.1 port 22 ssh2\n")
    smallest = min(Path(args.evtx).rglob("*.evtx"), key=lambda p: p.stat().st_size)
    rows = []
    for label, cmd in (("soc --help", [*SOC, "--help"]), ("soc parse (one line)", [*SOC, "parse", str(one_line)])):
        times = [run_process(pinned(cmd, args.cpu), env) for _ in range(args.repeat)]
        rows.append((label, times))
    detect = [*SOC, "detect", "--rules", args.rules, str(smallest)]
    shutil.rmtree(tmp / "startup-cache", ignore_errors=True)
    rows.append(("soc detect, empty rule cache", [run_process(pinned(detect, args.cpu), env)]))
    warm = [run_process(pinned(detect, args.cpu), env) for _ in range(args.repeat)]
    rows.append(("soc detect, warm rule cache", warm))
    print("start-up (whole process; seconds, median (range)):")
    for label, times in rows:
        print(f"  {label:34s} wall {spread([t.wall for t in times], '.2f'):22s} "
              f"CPU {spread([t.cpu for t in times], '.2f')}")
    print(f"  (soc detect: {args.rules}, over {smallest.name}, one of the smallest corpus files)\n")
    return statistics.median(t.cpu for t in warm)


# --- detect --------------------------------------------------------------------------------


def evtx_folders(evtx_dir: Path, tmp: Path) -> tuple[Path, Path, int]:
    """x1: the corpus files under short names; x10: each ten times (symbolic links)."""
    files = sorted(evtx_dir.rglob("*.evtx"))
    x1, x10 = tmp / "x1", tmp / "x10"
    x1.mkdir()
    x10.mkdir()
    for i, path in enumerate(files):
        (x1 / f"{i:04d}.evtx").symlink_to(path)
        for copy in range(10):
            (x10 / f"{copy:02d}-{i:04d}.evtx").symlink_to(path)
    return x1, x10, len(files)


def convert_rules(rules_dir: str, target: Path) -> None:
    from rules.sigma import load_rules, sqlite_oracle

    start = time.perf_counter()
    converted = sqlite_oracle.convert(load_rules([rules_dir]).rules)
    payload = [{"title": rule.title, "queries": queries} for rule, queries in converted.queries]
    target.write_text(json.dumps(payload))
    print(f"rules converted by pySigma's SQLite backend once, beforehand: {len(payload)} "
          f"({len(converted.failures)} not convertible) in {time.perf_counter() - start:.1f} s\n")


def count(stderr: str, key: str) -> int:
    for token in stderr.replace("\n", " ").split():
        if token.startswith(key + "="):
            return int(token.split("=", 1)[1])
    return 0


def bench_detect(args: argparse.Namespace, tmp: Path, warm_startup: float) -> None:
    x1, x10, files = evtx_folders(Path(args.evtx), tmp)
    sql_rules = tmp / "rules.sqlite.json"
    convert_rules(args.rules, sql_rules)
    env = soc_env(tmp / "detect-cache")
    run_process([*SOC, "detect", "--rules", args.rules, str(sorted(x1.iterdir())[0])], env)  # fills the cache
    zircolite = os.environ.get("ZIRCOLITE")
    for label, folder in (("x1", x1), ("x10", x10)):
        inputs = sorted(str(p) for p in folder.iterdir())
        soc_cmd = pinned([*SOC, "detect", "--stats", "--rules", args.rules, *inputs], args.cpu)
        sql_cmd = pinned([sys.executable, str(BENCH / "sigma_sqlite_run.py"), str(sql_rules), str(folder)], args.cpu)
        socs, sqls, zircs = [], [], []
        for _ in range(args.repeat):  # alternating, so both see the same machine
            socs.append(run_process(soc_cmd, env))
            sqls.append(run_process(sql_cmd))
            if zircolite:
                zircs.append(run_process(pinned([sys.executable, "zircolite.py", "--evtx", str(folder),
                                                 "--ruleset", os.environ.get("ZIRCOLITE_RULES",
                                                                             "rules/rules_windows_generic.json")],
                                                args.cpu), cwd=Path(zircolite)))
        events = count(socs[0].stderr, "events")
        alerts = count(socs[0].stderr, "alerts")
        print(f"detect {label}: {len(inputs)} files ({files} corpus files), {events:,} events, "
              f"{alerts} soc alerts, {count(sqls[0].stderr, 'hits')} SQLite hits")
        for name, times in (("soc detect", socs), ("SQLite approach", sqls), ("Zircolite", zircs)):
            if not times:
                if name == "Zircolite":
                    print("  Zircolite: skipped (set ZIRCOLITE to a checkout, ZIRCOLITE_RULES to a rule set)")
                continue
            print(f"  {name:16s} wall {spread([t.wall for t in times], '.2f'):20s} s  "
                  f"CPU {spread([t.cpu for t in times], '.2f'):20s} s  "
                  f"{spread([events / t.cpu for t in times])} events per CPU s")
        ratio_cpu = [s.cpu / t.cpu for s, t in zip(sqls, socs, strict=True)]
        ratio_wall = [s.wall / t.wall for s, t in zip(sqls, socs, strict=True)]
        steady = [events / max(t.cpu - warm_startup, 1e-6) for t in socs]
        print(f"  soc detect / SQLite approach: {spread(ratio_cpu, '.1f')}x on CPU, {spread(ratio_wall, '.1f')}x "
              f"wall; soc without its start-up ({warm_startup:.2f} CPU s): {spread(steady)} events/s\n")
    engine_reference(args, x10)


def engine_reference(args: argparse.Namespace, folder: Path) -> None:
    """The same events through the same code in this process: parse, then match, then the
    command's own loop (parse + detect + alerts serialised), per CPU second."""
    from ingest.files import read_file_events
    from ingest.pipeline import BugLogger, Stats, parse_stream
    from rules.sigma import SigmaDetector
    from rules.sigma.cache import load_engine
    from soc_api.commands._common import make_parser
    from soc_core.clock import SystemClock
    from soc_core.event import dumps

    engine, _ = load_engine([args.rules])
    clock = SystemClock()
    parser = make_parser("winlog")
    paths = sorted(str(p) for p in folder.iterdir())
    start = time.process_time()
    events = [e for p in paths for e in parse_stream(parser, read_file_events(p, parser, clock.now()),
                                                     Stats(), BugLogger())]
    parse_cpu = time.process_time() - start
    start = time.process_time()
    for event in events:
        engine.match(event)
    match_cpu = time.process_time() - start
    detector = SigmaDetector(engine, clock=clock)
    start = time.process_time()
    for event in events:
        for alert in detector.detect(event):
            dumps(alert)
    detect_cpu = time.process_time() - start
    print(f"engine reference over x10, in this process (warm plans): EVTX parse {len(events) / parse_cpu:,.0f}/s, "
          f"engine.match {len(events) / match_cpu:,.0f}/s, detect + alerts serialised "
          f"{len(events) / detect_cpu:,.0f}/s; parse then detect: "
          f"{len(events) / (parse_cpu + detect_cpu):,.0f} events per CPU s\n")


# --- parse ---------------------------------------------------------------------------------

SYSLOG_NG_KV = """@version: 3.38
options {{ stats_freq(0); keep-hostname(yes); }};
source s_in {{ stdin(); }};
parser p_kv {{ kv-parser(prefix(".kv.")); }};
destination d_out {{ file("{out}" template("$(format-json --scope rfc5424 --scope nv-pairs --key .kv.*)\\n")); }};
log {{ source(s_in); parser(p_kv); destination(d_out); }};
"""
SYSLOG_NG_PLAIN = """@version: 3.38
options {{ stats_freq(0); keep-hostname(yes); }};
source s_in {{ stdin(); }};
destination d_out {{ file("{out}" template("$(format-json --scope rfc5424 --scope nv-pairs)\\n")); }};
log {{ source(s_in); destination(d_out); }};
"""


def syslog_ng_cmd(tmp: Path, name: str, config: str, cpu: int | None) -> tuple[list[str], dict[str, str]] | None:
    """The command line and environment of a syslog-ng run, or ``None`` without one."""
    env = dict(os.environ)
    extra: list[str] = []
    root = os.environ.get("SYSLOG_NG_ROOT")
    if root:  # unpacked with dpkg -x: its own libraries and modules
        binary: str | None = str(Path(root) / "usr" / "sbin" / "syslog-ng")
        modules = sorted((Path(root) / "usr" / "lib" / "syslog-ng").glob("3.*"))
        env["LD_LIBRARY_PATH"] = str(Path(root) / "usr" / "lib" / "syslog-ng")
        extra = [f"--module-path={modules[-1]}"] if modules else []
    else:
        binary = shutil.which("syslog-ng")
    if binary is None or not Path(binary).exists():
        return None
    work = tmp / f"syslog-ng-{name}"
    work.mkdir(exist_ok=True)
    conf = work / "syslog-ng.conf"
    conf.write_text(config.format(out=work / "out.json"))
    return pinned([binary, "-F", "-f", str(conf), "--no-caps", "-R", str(work / "persist"),
                   "-p", str(work / "pid"), "-c", str(work / "ctl"), *extra], cpu), env


def engine_parse_rate(parser_name: str, lines: list[bytes]) -> float:
    """Lines per CPU second of parse + serialise in this process (``parse_bench.py``'s loop)."""
    from parse_bench import run

    from soc_core.registry import default_registry

    parser = default_registry().get("parser", parser_name)(OPTIONS)
    run(parser.parse, lines[:2000], 1)  # warm-up
    done, _, cpu = run(parser.parse, lines, 1)
    return done / cpu


def bench_parse(args: argparse.Namespace, tmp: Path) -> None:
    from soc_core.registry import default_registry

    registry = default_registry()
    corpus = Path(args.corpus)
    iptables = fixture_lines(corpus, "iptables.log", registry.get("parser", "iptables.log")(OPTIONS))
    pools = [fixture_lines(corpus, n, registry.get("parser", n)(OPTIONS)) for n in MIXED]
    for _, dataset, files in WAF_POOLS:
        framer = registry.get("parser", dataset)(OPTIONS).framer
        pools.append([data for f in files if (corpus / f).is_file()
                      for _, data in framer.frames(io.BytesIO((corpus / f).read_bytes()))])
    cases: list[tuple[str, list[bytes], str, str]] = [
        ("iptables.log", interleave([iptables], args.lines), "kv", SYSLOG_NG_KV),
        ("auto", interleave([p for p in pools if p], args.lines), "plain", SYSLOG_NG_PLAIN),
    ]
    env = soc_env(tmp / "parse-cache")
    for parser_name, lines, ng_name, ng_config in cases:
        path = tmp / f"{parser_name}.log"
        path.write_bytes(b"\n".join(lines) + b"\n")
        # Rates per line of the file (a few events of the mixed stream span two lines):
        # the same denominator for both tools, so their ratio is the ratio of their times.
        n = path.read_bytes().count(b"\n")
        soc_cmd = pinned([*SOC, "parse", "--parser", parser_name, str(path)], args.cpu)
        ng = syslog_ng_cmd(tmp, ng_name, ng_config, args.cpu)
        socs, ngs = [], []
        for _ in range(args.repeat):
            socs.append(run_process(soc_cmd, env))
            if ng is not None:
                out_json = tmp / f"syslog-ng-{ng_name}" / "out.json"
                out_json.unlink(missing_ok=True)
                ngs.append(run_process(ng[0], ng[1], stdin_file=path))
                with out_json.open("rb") as written:
                    wrote = sum(1 for _ in written)
                if wrote != n:
                    raise RuntimeError(f"syslog-ng wrote {wrote} lines of {n} to {out_json}")
        engine = engine_parse_rate(parser_name, lines) * len(lines) / n  # per file line too
        print(f"parse --parser {parser_name}: {n:,} lines, {len(lines):,} events "
              f"({path.stat().st_size / 2**20:.1f} MiB)")
        print(f"  soc parse        wall {spread([t.wall for t in socs], '.2f'):20s} s  "
              f"CPU {spread([t.cpu for t in socs], '.2f'):20s} s  {spread([n / t.cpu for t in socs])} lines per CPU s")
        if ngs:
            print(f"  syslog-ng {ng_name:6s} wall {spread([t.wall for t in ngs], '.2f'):20s} s  "
                  f"CPU {spread([t.cpu for t in ngs], '.2f'):20s} s  "
                  f"{spread([n / t.cpu for t in ngs])} lines per CPU s")
            ratio = [g.cpu / s.cpu for s, g in zip(socs, ngs, strict=True)]
            ratio_wall = [g.wall / s.wall for s, g in zip(socs, ngs, strict=True)]
            print(f"  soc parse / syslog-ng: {spread(ratio, '.2f')} on CPU, {spread(ratio_wall, '.2f')} wall")
        else:
            print("  syslog-ng: not installed, column skipped (apt-get install syslog-ng-core, or SYSLOG_NG_ROOT)")
        print(f"  engine (parse + dumps in this process): {engine:,.0f} lines per CPU s; command / engine "
              f"{spread([n / t.cpu / engine for t in socs], '.2f')}\n")


# --- run -----------------------------------------------------------------------------------


def bench_run(args: argparse.Namespace) -> None:
    cmd = pinned([sys.executable, str(BENCH / "ingest_bench.py"), "--store", "sqlite",
                  "--events", str(args.run_events)], args.cpu)
    print("soc run (bench/ingest_bench.py, service and sender on the same core):")
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=3600)
    print("  " + out.stdout.strip().replace("\n", "\n  ") + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus = os.environ.get("SOC_CORPUS", str(ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--corpus", default=corpus)
    ap.add_argument("--rules", default=str(Path(corpus) / "sigma" / "sigmahq" / "rules" / "windows"))
    ap.add_argument("--evtx", default=str(Path(corpus) / "evtx"))
    ap.add_argument("--lines", type=int, default=500_000, help="lines of each parse input")
    ap.add_argument("--run-events", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1, help="core to pin to (taskset)")
    ap.add_argument("--only", default="startup,detect,parse,run")
    args = ap.parse_args()
    if shutil.which("taskset") is None:
        print("taskset not found: processes are not pinned")
        args.cpu = None
    only = set(args.only.split(","))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; pinned to core {args.cpu}; "
          f"calibration: a 2M-step Python loop takes {calibrate():.3f} CPU s here\n")
    warm = 0.0
    with tempfile.TemporaryDirectory(prefix="soc-commands-bench-") as name:
        tmp = Path(name)
        if "startup" in only or "detect" in only:
            warm = bench_startup(args, tmp)
        if "detect" in only:
            bench_detect(args, tmp, warm)
        if "parse" in only:
            bench_parse(args, tmp)
        if "run" in only:
            bench_run(args)
    print(f"load average at the end {os.getloadavg()[0]:.1f}; calibration {calibrate():.3f} CPU s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
