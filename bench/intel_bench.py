"""Benchmark: events per second through the pipeline with 0 and with N active indicators.

Builds a mixed Suricata EVE stream (DNS queries, HTTP requests, flows; about 1 % of the
events carry a listed observable), then times ``Pipeline.process_batch`` (parse ->
detect, no store: the store's cost does not depend on the indicators) with

* no indicator detector (what ``soc ingest`` does on a store without indicators), and
* the indicator detector over N indicators (default 1,000,000: IPv4 addresses, IPv4
  CIDRs of several prefix lengths, IPv6 addresses, domains, URLs, SHA-256 hashes),

alternating the two ``--repeat`` times in the same process and reporting the best of
each, their ratio, the index's build time, and the memory the indicators take
(``tracemalloc`` over the index build, and the process's RSS growth).

    .venv/bin/python bench/intel_bench.py [--events N] [--indicators N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import time
import tracemalloc
from datetime import UTC, datetime

from ingest.pipeline import Pipeline
from intel.detector import IntelDetector
from intel.indicators import DOMAIN, IPV4, IPV6, SHA256, URL, indicator_id
from intel.matcher import IndicatorIndex
from soc_api.commands._common import make_parser
from soc_core.clock import FrozenClock
from soc_core.event import RawEvent

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def ip(rng: random.Random) -> str:
    """A listed address, outside the event stream's own ranges (10/8 and the benchmarking
    range 198.18/15): the events that match are the ~1 % made to carry a listed value."""
    first = rng.choice([n for n in range(1, 224) if n not in (10, 127, 198)])
    return ".".join([str(first), *(str(rng.randrange(0, 256)) for _ in range(3))])


def indicator_records(n: int, rng: random.Random) -> tuple[list[dict[str, object]], dict[str, list[str]]]:
    """N indicator records (the fields the index reads) and some listed values per type."""
    shares = [(IPV4, 0.35), ("cidr", 0.05), (IPV6, 0.05), (DOMAIN, 0.3), (URL, 0.1), (SHA256, 0.15)]
    records: list[dict[str, object]] = []
    samples: dict[str, list[str]] = {}
    for kind, share in shares:
        for i in range(int(n * share)):
            if kind == IPV4:
                value = ip(rng)
            elif kind == "cidr":
                length = rng.choice((16, 20, 24, 28))
                value = f"{ip(rng)}/{length}"
                octets = [int(x) for x in value.split("/")[0].split(".")]
                number = int.from_bytes(bytes(octets), "big") >> (32 - length) << (32 - length)
                value = ".".join(str(b) for b in number.to_bytes(4, "big")) + f"/{length}"
            elif kind == IPV6:
                value = f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
            elif kind == DOMAIN:
                value = f"bad{i}-{rng.getrandbits(24):x}.example"
            elif kind == URL:
                value = f"http://u{i}.example/p/{rng.getrandbits(32):x}"
            else:
                value = f"{rng.getrandbits(256):064x}"
            t = IPV4 if kind == "cidr" else kind
            records.append({"id": indicator_id(t, value), "type": t, "value": value,
                            "sources": {"center": {}}, "confidence": 70, "tlp": "AMBER",
                            "first_seen": "2026-11-01T00:00:00.000Z", "last_seen": "2026-11-20T00:00:00.000Z"})
            if len(samples.setdefault(kind, [])) < 1000:
                samples[kind].append(value)
    return records, samples


def eve_lines(n: int, samples: dict[str, list[str]], rng: random.Random) -> list[bytes]:
    lines = []
    for i in range(n):
        hit = rng.random() < 0.01 and samples
        second = i % 60
        base = {"timestamp": f"2026-11-22T10:{(i // 60) % 60:02d}:{second:02d}.000000+0000",
                "src_ip": f"10.0.{(i >> 8) & 255}.{i & 255}", "src_port": 40000 + i % 20000, "proto": "TCP"}
        kind = i % 3
        if kind == 0:
            name = rng.choice(samples[DOMAIN]) if hit else f"host{i}.benign.test"
            line = {**base, "event_type": "dns", "dest_ip": "10.0.0.1", "dest_port": 53,
                    "dns": {"type": "query", "id": i % 65536, "rrname": name, "rrtype": "A"}}
        elif kind == 1:
            host = rng.choice(samples[DOMAIN]) if hit else f"www{i % 997}.benign.test"
            line = {**base, "event_type": "http", "dest_ip": "198.18.0.1", "dest_port": 80,
                    "http": {"hostname": host, "url": f"/p/{i}", "http_method": "GET", "status": 200}}
        else:
            dest = rng.choice(samples[IPV4]) if hit else f"198.18.{(i >> 8) & 255}.{i & 255}"
            line = {**base, "event_type": "flow", "dest_ip": dest, "dest_port": 443}
        lines.append(json.dumps(line).encode())
    return lines


def run_once(pipeline: Pipeline, raws: list[RawEvent], batch: int) -> tuple[float, int]:
    pipeline.stats.alerts = 0
    start = time.perf_counter()
    for i in range(0, len(raws), batch):
        pipeline.process_batch(raws[i:i + batch])
    return time.perf_counter() - start, pipeline.stats.alerts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--indicators", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(14)
    clock = FrozenClock(NOW)

    records, samples = indicator_records(args.indicators, rng)
    lines = eve_lines(args.events, samples, rng)
    raws = [RawEvent.from_bytes(line, source="bench", offset=i, received=NOW) for i, line in enumerate(lines)]

    gc.collect()
    rss_before = rss_mb()
    tracemalloc.start()
    t = time.perf_counter()
    index = IndicatorIndex()
    index.extend(records)
    build_secs = time.perf_counter() - t
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del records
    gc.collect()
    rss_index = rss_mb() - rss_before
    gc.freeze()  # as intel.detector.detector_for does for the long-lived index

    parser = make_parser("suricata.eve", clock=clock)
    plain = Pipeline(parser, None, [], clock=clock)
    detector = IntelDetector(index, clock)
    matched = Pipeline(parser, None, [detector], clock=clock)
    run_once(plain, raws[:2000], 1000)  # warm caches (timestamp formatting, parser state)
    best_plain = best_intel = float("inf")
    alerts = 0
    for _ in range(args.repeat):
        secs, _ = run_once(plain, raws, 1000)
        best_plain = min(best_plain, secs)
        secs, alerts = run_once(matched, raws, 1000)
        detector.take_sightings()
        best_intel = min(best_intel, secs)

    print(f"events: {len(raws):,} Suricata EVE lines (dns/http/flow), alerts with indicators: {alerts:,}")
    print(f"indicators: {index.size:,} (IPv4 {len(index.exact[IPV4]):,}, CIDR "
          f"{sum(len(t) for t in index.cidrs[4].values()):,}, IPv6 {len(index.exact[IPV6]):,}, domains "
          f"{len(index.domains):,}, URLs {len(index.exact[URL]):,}, SHA-256 {len(index.exact[SHA256]):,})")
    print(f"index build: {build_secs:.1f} s; memory: {traced / 2**20:.0f} MiB traced, "
          f"{rss_index:.0f} MiB RSS growth ({traced / max(index.size, 1):.0f} B per indicator)")
    print(f"{'indicators':>12} {'events/s':>12} {'seconds':>9}")
    print(f"{0:>12,} {len(raws) / best_plain:>12,.0f} {best_plain:>9.2f}")
    print(f"{index.size:>12,} {len(raws) / best_intel:>12,.0f} {best_intel:>9.2f}")
    print(f"slowdown with indicators: {100 * (best_intel / best_plain - 1):.1f} % "
          f"(best of {args.repeat}, same process)")


if __name__ == "__main__":
    main()
