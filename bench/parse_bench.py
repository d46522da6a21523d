"""Parser throughput benchmark: lines per second per core, peak memory, and the orjson floor.

For every registered parser with Filebeat fixture lines in the shared corpus, the lines
are framed once, then parsed and serialised (``parse`` + ``dumps``, what ``soc parse``
does per line) in a loop; the rate is lines per CPU second of this process
(``time.process_time``), so other load on the machine does not count against it.

The mixed stream interleaves firewall, WAF and server lines (ASA, iptables, FortiGate,
PAN-OS, sshd/sudo, syslog, Apache/nginx access, auditd from the Filebeat fixtures, and
ModSecurity/OWASP-CRS alerts as Apache and nginx write them to their error logs, from the
CrowdSec hub tests: the corpus has no ModSecurity audit-log fixture) and goes through
``auto`` (routing included) line by line, then in batches as ``soc parse`` reads it (each
batch routed, then parsed and serialised grouped by parser: the same output in the same
order, with better cache locality; the ingest pipeline parses grouped too but detects in
input order), then through each line's own parser
(routing excluded), and through a plain ``orjson`` read-and-dump loop: the floor for any
Python parser.
``auto.route alone`` is the routing decision by itself (in isolation it runs with warm
caches, so it reads lower than the auto/pre-routed difference).

usage: .venv/bin/python bench/parse_bench.py [--corpus DIR] [--lines N] [--repeat R] [--only a,b]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import PARSE_BATCH, BugLogger, Stats, parse_lines  # noqa: E402  (needs the path set above)
from parsers.base import ParserOptions  # noqa: E402
from soc_core.clock import FrozenClock  # noqa: E402
from soc_core.errors import ParseError  # noqa: E402
from soc_core.event import RawEvent, dumps  # noqa: E402
from soc_core.registry import default_registry  # noqa: E402

T = TypeVar("T")
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParserOptions(tz=UTC, clock=FrozenClock(NOW))
# dataset -> fixture folder, when the folder is not simply <module>/<fileset>
FOLDERS = {
    "cisco.asa": "cisco/asa", "cisco.ftd": "cisco/ftd", "fortinet.firewall": "fortinet/firewall",
    "panw.panos": "panw/panos", "modsecurity.auditlog": "modsecurity/auditlog",
}
MIXED = (
    "cisco.asa", "iptables.log", "fortinet.firewall", "panw.panos",
    "system.auth", "system.syslog", "apache.access", "nginx.access", "auditd.log",
)
# The WAF part of the mixed stream: (label, dataset that parses it, corpus files).
WAF_POOLS = (
    ("modsecurity-crs (apache.error)", "apache.error",
     ("crowdsec_hub_tests/modsecurity/modsecurity.log", "crowdsec_hub_tests/modsecurity-logs/modsecurity-logs.log")),
    ("modsecurity-crs (nginx.error)", "nginx.error",
     ("crowdsec_hub_tests/modsecurity-logs-nginx/modsecurity-logs-nginx.log",)),
)


# Real inputs for parsers without a Filebeat fixture: (kind, corpus glob). "lines" frames a
# log file, "wazuh" takes the "log N pass = <line>" samples of a Wazuh ruleset test, "evtx"
# reads EVTX records with the parser's own file reader (first 4,000 records).
OTHER_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "pfsense.log": (("lines", "crowdsec_hub_tests/pfsense*/*.log"), ("wazuh", "wazuh_ruleset_tests/pfsense.ini")),
    "juniper.junos": (("wazuh", "wazuh_ruleset_tests/junos.ini"),),
    "cisco.ios": (("wazuh", "wazuh_ruleset_tests/cisco_ios.ini"),),
    "eset_protect.event": (("wazuh", "wazuh_ruleset_tests/eset.ini"),),
    "winlog": (("evtx", "evtx/**/*.evtx"),),
}
_WAZUH_SAMPLE = re.compile(rb"^log \d+ pass = (.+)$", re.M)
_EVTX_RECORDS = 4000


def other_inputs(corpus: Path, dataset: str, parser: Any) -> list[bytes]:
    """Frames from :data:`OTHER_INPUTS` for a parser that has no Filebeat fixture."""
    frames: list[bytes] = []
    for kind, pattern in OTHER_INPUTS.get(dataset, ()):
        for path in sorted(corpus.glob(pattern)):
            if kind == "lines":
                frames.extend(data for _, data in parser.framer.frames(io.BytesIO(path.read_bytes())))
            elif kind == "wazuh":
                frames.extend(_WAZUH_SAMPLE.findall(path.read_bytes()))
            elif len(frames) < _EVTX_RECORDS:
                frames.extend(raw.data for raw in parser.read_file(str(path), NOW))
    return frames[:_EVTX_RECORDS]


def fixture_lines(corpus: Path, dataset: str, parser: Any) -> list[bytes]:
    """The framed events of every fixture input of ``dataset`` (not the golden files)."""
    module, _, fileset = dataset.partition(".")
    folder = corpus / "beats_filebeat" / FOLDERS.get(dataset, f"{module}/{fileset}")
    if not folder.is_dir():
        return []
    frames: list[bytes] = []
    for path in sorted(folder.iterdir()):
        if not path.name.endswith(".log") or path.name.endswith(("-expected.json", ".yml")):
            continue
        frames.extend(data for _, data in parser.framer.frames(io.BytesIO(path.read_bytes())))
    return frames


def run(parse: Callable[[RawEvent], Any], frames: list[bytes], repeat: int) -> tuple[int, int, float]:
    """(events, failures, CPU seconds) for ``repeat`` passes of parse + dumps over ``frames``."""
    failed = 0
    start = time.process_time()
    for _ in range(repeat):
        for offset, data in enumerate(frames):
            raw = RawEvent.from_bytes(data, "/bench/input.log", NOW, offset)
            try:
                dumps(parse(raw))
            except ParseError:
                failed += 1
    return len(frames) * repeat, failed, time.process_time() - start


def run_batched(auto: Any, frames: list[bytes]) -> tuple[int, int, float]:
    """What ``soc parse`` does: raw events in batches of :data:`ingest.pipeline.PARSE_BATCH`,
    each routed, then parsed and serialised grouped by parser (``parse_lines``)."""
    stats = Stats()
    start = time.process_time()
    raws = (RawEvent.from_bytes(data, "/bench/input.log", NOW, offset) for offset, data in enumerate(frames))
    for _ in parse_lines(auto, raws, stats, BugLogger()):
        pass
    return len(frames), stats.failed, time.process_time() - start


def report(label: str, rates: list[float], note: str = "") -> None:
    """One line of the mixed-stream table: the median rate, then the slowest and fastest."""
    print(f"{label:40s} {statistics.median(rates):10.0f} lines/s  [{min(rates):.0f}-{max(rates):.0f}]  {note}".rstrip())


def orjson_floor(frames: list[bytes], repeat: int) -> tuple[int, float]:
    """Read-and-dump with no parsing: the fastest a Python pipeline can go."""
    start = time.process_time()
    for _ in range(repeat):
        for data in frames:
            orjson.dumps({"message": data.decode("utf-8", "replace")})
    return len(frames) * repeat, time.process_time() - start


def interleave(groups: Iterable[list[T]], limit: int) -> list[T]:
    """Round-robin over the groups (each cycled) until ``limit`` lines."""
    pools = [g for g in groups if g]
    out: list[T] = []
    i = 0
    while pools and len(out) < limit:
        for pool in pools:
            out.append(pool[i % len(pool)])
        i += 1
    return out[:limit]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.environ.get("SOC_CORPUS", str(ROOT.parent / "shared" / "corpus")))
    ap.add_argument("--lines", type=int, default=20000, help="lines in the mixed stream")
    ap.add_argument("--repeat", type=int, default=3, help="passes over each parser's fixture lines")
    ap.add_argument("--passes", type=int, default=5, help="timed passes over the mixed stream (median reported)")
    ap.add_argument("--only", default="", help="comma-separated datasets (default: every registered parser)")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    registry = default_registry()
    names = [n for n in registry.names("parser") if n != "auto"]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; rates are lines per CPU second "
          f"of this process (one core)\n")
    calibration = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    print(f"calibration: a 2M-step Python loop takes {time.process_time() - calibration:.3f} CPU s here\n")
    print(f"{'parser':32s} {'lines':>7s} {'failed':>7s} {'lines/s':>10s}  input")
    lines_of: dict[str, list[bytes]] = {}
    for name in names:
        parser = registry.get("parser", name)(OPTIONS)
        frames = fixture_lines(corpus, name, parser)
        lines_of[name] = frames
        source = "Filebeat fixtures"
        if not frames:
            frames, source = other_inputs(corpus, name, parser), "other corpus data: " + ", ".join(
                pattern.split("/")[0] for _, pattern in OTHER_INPUTS.get(name, ()))
        if not frames:
            print(f"{name:32s} {'-':>7s} {'':>7s} {'-':>10s}  no corpus input (own tests only)")
            continue
        run(parser.parse, frames, 1)  # warm-up: lazy pattern compilation is start-up, not throughput
        count, failed, cpu = run(parser.parse, frames, args.repeat)
        print(f"{name:32s} {count:7d} {failed:7d} {count / cpu:10.0f}  {source}")

    # (label, dataset, lines) per source of the mixed stream.
    pools = [(n, n, lines_of.get(n) or fixture_lines(corpus, n, registry.get("parser", n)(OPTIONS))) for n in MIXED]
    for label, dataset, files in WAF_POOLS:
        framer = registry.get("parser", dataset)(OPTIONS).framer
        frames = [data for f in files if (corpus / f).is_file()
                  for _, data in framer.frames(io.BytesIO((corpus / f).read_bytes()))]
        pools.append((label, dataset, frames))
    pools = [pool for pool in pools if pool[2]]
    mixed = interleave((frames for _, _, frames in pools), args.lines)
    if not mixed:
        print("\nno mixed stream: corpus not found")
        return 1
    print(f"\nmixed stream: {len(mixed)} lines from {', '.join(label for label, _, _ in pools)}")
    auto = registry.get("parser", "auto")(OPTIONS)
    run(auto.parse, mixed[:2000], 1)  # warm-up
    print(f"(median of {args.passes} passes over the stream, slowest and fastest in brackets: a shared "
          "machine's timings wander by a tenth or more)")
    passes = [run(auto.parse, mixed, 1) for _ in range(args.passes)]
    report("auto, line by line (route+parse+dumps)", [count / cpu for count, _, cpu in passes],
           f"({passes[0][1]} dead letters)")
    passes = [run_batched(auto, mixed) for _ in range(args.passes)]
    report("auto, batches of " + f"{PARSE_BATCH:,}" + " (soc parse)", [count / cpu for count, _, cpu in passes],
           f"({passes[0][1]} dead letters)")
    # Routing alone (signals, syslog program, accepts), without parsing: its own cost per line.
    raws = [RawEvent.from_bytes(data, "/bench/input.log", NOW, offset) for offset, data in enumerate(mixed)]
    start = time.process_time()
    for raw in raws:
        auto.route(raw)
    cpu = time.process_time() - start
    print(f"{'auto.route alone':40s} {cpu / len(raws) * 1e6:10.1f} us/line")

    # The same lines, each through its own parser: the cost of routing is the difference.
    own = [(registry.get("parser", dataset)(OPTIONS), frames) for _, dataset, frames in pools]
    labelled = interleave(([(i, d) for d in frames] for i, (_, frames) in enumerate(own)), args.lines)
    parsers = [p for p, _ in own]
    rates = []
    for _ in range(args.passes):
        start = time.process_time()
        for offset, (index, data) in enumerate(labelled):
            raw = RawEvent.from_bytes(data, "/bench/input.log", NOW, offset)
            with contextlib.suppress(ParseError):
                dumps(parsers[index].parse(raw))
        rates.append(len(labelled) / (time.process_time() - start))
    report("pre-routed (parse + dumps)", rates)
    count, cpu = orjson_floor(mixed, 1)
    print(f"{'orjson floor (read + dump)':40s} {count / cpu:10.0f} lines/s")

    tracemalloc.start()
    run(auto.parse, mixed[:5000], 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak traced memory while parsing 5000 mixed lines: {peak / 2**20:.1f} MiB; max RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
