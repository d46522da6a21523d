"""``soc intel import`` of the corpus's TweetFeed bundle, then ``soc ingest`` of log lines
holding some of its indicators: exactly one enrichment alert per matching event, none for
the others; sightings recorded; a retro-match after a later import; list/show/expire."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from click.testing import CliRunner, Result

from soc_api.cli import cli
from tests.conftest import corpus_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def eve(second: int, **fields: object) -> str:
    line = {"timestamp": f"2026-08-22T10:00:{second:02d}.000000+0000", "src_ip": "10.0.0.5", "src_port": 50000,
            "dest_ip": "10.0.0.1", "dest_port": 53, "proto": "UDP", **fields}
    return json.dumps(line)


def dns(second: int, name: str, **fields: object) -> str:
    return eve(second, event_type="dns", dns={"type": "query", "id": second, "rrname": name, "rrtype": "A"}, **fields)


def search(db: str, query: str, collection: str = "alerts") -> list[dict]:
    out = run("search", "--store", db, "--collection", collection, "--limit", "1000", query)
    return [orjson.loads(line) for line in out.splitlines()]


def test_ingest_matches_corpus_indicators_once_per_event(tmp_path: Path) -> None:
    bundle = corpus_path("stix_misp", "tweetfeed", "stix", "today.json")
    objects = json.loads(bundle.read_text())["objects"]
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    domains = [p.split("'")[1] for p in patterns if p.startswith("[domain-name:value")]
    ips = [p.split("'")[1] for p in patterns if p.startswith("[ipv4-addr:value")]
    assert len(domains) >= 2 and ips
    db = f"sqlite:///{tmp_path / 's.db'}"
    # The bundle gives no expiry and is older than the default ages: keep it ten years.
    out = run("intel", "import", "--store", db, "--ttl-days", "3650", str(bundle))
    assert f"{len(patterns)} indicators, 0 patterns kept but not matchable, 0 problems" in out

    lines = [
        dns(1, domains[0]),                                  # the listed domain
        dns(2, f"cdn.{domains[1]}"),                         # a subdomain of a listed one
        dns(3, "example.org"),                               # nothing
        eve(4, event_type="flow", dest_ip=ips[0], dest_port=443, proto="TCP"),   # the listed address
        dns(5, domains[0], dest_ip=ips[0]),                  # two indicators, still one alert
        eve(6, event_type="flow", dest_ip="192.0.2.77", proto="TCP"),            # nothing
    ]
    log = tmp_path / "eve.json"
    log.write_text("\n".join(lines) + "\n")
    out = run("ingest", "--store", db, "--parser", "suricata.eve", str(log))
    assert "6 input events, 6 parsed, 0 dead letters, 4 alerts" in out

    alerts = search(db, "rule.ruleset:intel")
    events = {e["event"]["id"]: e for e in search(db, "*", "events")}
    by_offset = {events[a["alert"]["event_ids"][0]]["log"]["offset"]: a for a in alerts}
    offsets = sorted(e["log"]["offset"] for e in events.values())
    assert sorted(by_offset) == [offsets[i] for i in (0, 1, 3, 4)]
    matched = {offset: sorted(e["indicator"]["name"] for e in a["threat"]["enrichments"])
               for offset, a in by_offset.items()}
    assert matched[offsets[0]] == [domains[0]] and matched[offsets[1]] == [domains[1]]
    assert matched[offsets[3]] == [ips[0]] and matched[offsets[4]] == sorted([domains[0], ips[0]])
    first = by_offset[offsets[0]]["threat"]["enrichments"][0]
    assert first["indicator"]["provider"] == "TweetFeed" and first["indicator"]["marking"]["tlp"] == "CLEAR"
    assert first["matched"]["field"] == "dns.question.name"

    shown = run("intel", "show", "--store", db, domains[0])
    record = json.loads(shown[: shown.rindex("}") + 1])
    assert record["sightings"]["count"] == 2 and record["sources"]["TweetFeed"]["tlp"] == "CLEAR"
    assert shown.rstrip().endswith(": 2")

    # Ingesting again stores nothing twice (alert ids derive from event ids).
    again = run("ingest", "--store", db, "--parser", "suricata.eve", str(log))
    assert "stored 0 new documents" in again

    # A later import, then a retro-match over the stored window: only the new match is new.
    extra = tmp_path / "late.txt"
    extra.write_text("example.org\n")
    run("intel", "import", "--store", db, "--source", "analyst", "--tlp", "amber", str(extra))
    out = run("intel", "retro", "--store", db, "--from", "2026-08-22T00:00:00Z", "--to", "2026-08-23T00:00:00Z")
    assert "matched 6 stored events" in out and "5 alerts, 1 new" in out
    late = [a for a in search(db, "rule.ruleset:intel")
            if any(e["indicator"]["name"] == "example.org" for e in a["threat"]["enrichments"])]
    assert len(late) == 1 and late[0]["threat"]["enrichments"][0]["indicator"]["marking"]["tlp"] == "AMBER"
    shown = run("intel", "show", "--store", db, "example.org")
    assert json.loads(shown.split("\nalerts")[0])["sightings"]["count"] == 1
    out = run("intel", "retro", "--store", db, "--from", "2026-08-22T00:00:00Z")
    assert "5 alerts, 0 new" in out

    listed = [json.loads(x) for x in run("intel", "list", "--store", db, "--limit", "1000").splitlines()]
    assert len(listed) == len(patterns) + 1
    assert "expired 0 indicators" in run("intel", "expire", "--store", db)


def test_import_reports_bad_input_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "iocs.csv"
    bad.write_text("value,type\n999.1.1.1,ipv4-addr\nok.example,\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = invoke("intel", "import", "--store", db, str(bad))
    assert result.exit_code == 1
    assert "1 indicators" in result.output and f"{bad}:2: not an IP address" in result.output
    assert invoke("intel", "import", "--store", db, "--tlp", "purple", str(bad)).exit_code == 2
