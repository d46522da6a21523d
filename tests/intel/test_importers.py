"""Importers: STIX 2.1 (simple and compound patterns, TLP markings), MISP events and feeds,
CSV and plain lists, and the real TweetFeed files of the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import stix2

from intel.importers import Defaults, ImportReport, pattern_observables, read_path
from intel.indicators import DOMAIN, IPV4, MD5, PATTERN, SHA256, URL
from tests.conftest import corpus_path

FIXED = "2026-11-20T00:00:00.000Z"
TLP2_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"


def _indicator(pattern: str, **kw: object) -> stix2.v21.Indicator:
    return stix2.v21.Indicator(id=f"indicator--{len(pattern):08d}-0000-4000-8000-000000000000", pattern=pattern,
                               pattern_type="stix", valid_from=FIXED, created=FIXED, modified=FIXED, **kw)


def test_simple_patterns_and_or_forms() -> None:
    assert pattern_observables("[ipv4-addr:value = '198.51.100.1']") == [(IPV4, "198.51.100.1")]
    assert pattern_observables("[ipv4-addr:value ISSUBSET '198.51.100.0/24']") == [(IPV4, "198.51.100.0/24")]
    assert pattern_observables("[file:hashes.'SHA-256' = 'aa'] OR [domain-name:value = 'x.example']") == [
        (SHA256, "aa"), (DOMAIN, "x.example")]
    assert pattern_observables("[url:value = 'http://a' OR url:value = 'http://b']") == [(URL, "http://a"),
                                                                                          (URL, "http://b")]
    # AND, other operators and qualifiers cannot be matched one observable at a time.
    assert pattern_observables("[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']") is None
    assert pattern_observables("[domain-name:value LIKE '%.evil']") is None
    assert pattern_observables("[file:name = 'a.exe']") is None
    assert pattern_observables("[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES") is None


def test_stix_bundle_with_marking_and_unmatchable(tmp_path: Path) -> None:
    bundle = stix2.v21.Bundle(objects=[
        _indicator("[domain-name:value = 'Evil.Example']", object_marking_refs=[TLP2_AMBER], confidence=85),
        _indicator("[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", object_marking_refs=[stix2.TLP_RED]),
        _indicator("[process:name = 'evil.exe' AND process:pid = 4]"),
        _indicator("[ipv4-addr:value = '999.1.1.1']"),
    ], allow_custom=True)
    path = tmp_path / "b.json"
    path.write_text(bundle.serialize())
    report = ImportReport()
    read_path(path, Defaults(source="center"), report)
    got = {(o.type, o.value, o.tlp, o.confidence) for o in report.observations}
    assert got == {(DOMAIN, "evil.example", "AMBER", 85), (MD5, "d41d8cd98f00b204e9800998ecf8427e", "RED", 50)}
    assert [(o.type, o.value) for o in report.unmatchable] == [
        (PATTERN, "[process:name = 'evil.exe' AND process:pid = 4]")]
    assert len(report.problems) == 1 and "999.1.1.1" in report.problems[0] and "b.json: object 3" in report.problems[0]


def test_invalid_stix_object_is_reported_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--bad", "pattern": "[x",
         "pattern_type": "stix", "valid_from": FIXED, "created": FIXED, "modified": FIXED}]}))
    report = ImportReport()
    read_path(path, Defaults(), report)
    assert not report.observations and len(report.problems) == 1
    assert "bad.json: object 0 (indicator--bad)" in report.problems[0]


def test_misp_event_attributes_objects_and_tlp(tmp_path: Path) -> None:
    event = {"Event": {"uuid": "e1", "date": "2026-11-01", "threat_level_id": "1", "Orgc": {"name": "CERT-X"},
                       "Tag": [{"name": "tlp:green"}],
                       "Attribute": [
                           {"uuid": "a1", "type": "ip-dst|port", "value": "203.0.113.9|443", "to_ids": True,
                            "timestamp": "1790000000"},
                           {"uuid": "a2", "type": "domain", "value": "bad.example", "to_ids": True,
                            "Tag": [{"name": "tlp:red"}]},
                           {"uuid": "a3", "type": "comment", "value": "hello", "to_ids": False},
                           {"uuid": "a4", "type": "filename|sha256", "value": "x.exe|" + "c" * 64, "to_ids": True}],
                       "Object": [{"Attribute": [{"uuid": "a5", "type": "url", "value": "http://bad.example/p",
                                                  "to_ids": True}]}]}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    report = ImportReport()
    read_path(path, Defaults(), report)
    got = {(o.type, o.value, o.tlp, o.source, o.confidence) for o in report.observations}
    assert got == {(IPV4, "203.0.113.9", "GREEN", "CERT-X", 90), (DOMAIN, "bad.example", "RED", "CERT-X", 90),
                   (SHA256, "c" * 64, "GREEN", "CERT-X", 90), (URL, "http://bad.example/p", "GREEN", "CERT-X", 90)}
    assert report.skipped["misp comment (to_ids false)"] == 1


def test_csv_and_plain_list(tmp_path: Path) -> None:
    csv_path = tmp_path / "iocs.csv"
    csv_path.write_text("type,value,confidence,tlp\nipv4-addr,192.0.2.0/24,70,amber\n,evil.example,,\n"
                        "ipv4-addr,not-an-ip,1,clear\n")
    plain = tmp_path / "list.txt"
    plain.write_text("# comment\n198.51.100.5\n\nhttps://x.example/a # trailing\nnot a value\n")
    report = ImportReport()
    read_path(tmp_path, Defaults(source="ops"), report)
    got = {(o.type, o.value, o.tlp) for o in report.observations}
    assert got == {(IPV4, "192.0.2.0/24", "AMBER"), (DOMAIN, "evil.example", "CLEAR"),
                   (IPV4, "198.51.100.5", "CLEAR"), (URL, "https://x.example/a", "CLEAR")}
    assert sorted(p.split(": ")[0].rsplit("/", 1)[1] for p in report.problems) == ["iocs.csv:4", "list.txt:5"]


def test_tweetfeed_stix_and_misp_feed_import() -> None:
    root = corpus_path("stix_misp", "tweetfeed")
    stix_report = ImportReport()
    read_path(root / "stix" / "week.json", Defaults(), stix_report)
    objects = json.loads((root / "stix" / "week.json").read_text())["objects"]
    indicators = [o for o in objects if o["type"] == "indicator"]
    # Every indicator of the bundle is a simple pattern: each one gives one observable.
    assert len(stix_report.observations) + len(stix_report.problems) == len(indicators)
    assert not stix_report.unmatchable and not stix_report.problems
    assert {o.source for o in stix_report.observations} == {"TweetFeed"}
    assert {o.tlp for o in stix_report.observations} == {"CLEAR"}

    pages = ImportReport()
    read_path(root / "stix" / "taxii" / "pages", Defaults(), pages)
    assert len(pages.observations) > 100 and not pages.problems

    feed = ImportReport()
    read_path(root / "misp", Defaults(), feed)
    manifest = json.loads((root / "misp" / "manifest.json").read_text())
    present = [u for u in manifest if (root / "misp" / f"{u}.json").is_file()]
    attributes = sum(len(json.loads((root / "misp" / f"{u}.json").read_text())["Event"]["Attribute"])
                     for u in present)
    assert feed.files == len(present)
    assert feed.skipped["misp feed events listed but absent"] == len(manifest) - len(present)
    # Every attribute is accounted for: imported, or refused with its place (two over-long "domains").
    assert len(feed.observations) + len(feed.problems) == attributes
    assert all("not a domain name" in p for p in feed.problems)
