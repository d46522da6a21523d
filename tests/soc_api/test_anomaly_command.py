"""``soc anomaly train|score|explain`` as a user runs them, and the honesty check: the
model and its threshold come from the training files alone."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from correlation.anomaly.detector import AnomalyDetector
from correlation.anomaly.models import load_model
from parsers.web.http_raw import HttpRawParser
from soc_api.cli import cli
from soc_core.clock import FrozenClock
from soc_core.event import RawEvent
from soc_store import open_store
from tests.correlation.anomaly._support import ATTACKS, normal_requests, raw_stream

T0 = datetime(2026, 11, 22, tzinfo=UTC)


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    train = tmp_path / "train.http"
    train.write_text(raw_stream(normal_requests(800, seed=1)))
    normal = tmp_path / "normal-test.http"
    normal.write_text(raw_stream(normal_requests(200, seed=2), eol="\n"))  # LF only, as one CSIC file
    attacks = tmp_path / "attacks.http"
    attacks.write_text(raw_stream(ATTACKS) + "garbage between requests\r\n")
    return train, normal, attacks


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_train_then_score_prints_one_line_per_input_event(tmp_path: Path) -> None:
    train, normal, attacks = _files(tmp_path)
    summary = json.loads(_run("anomaly", "train", "--kind", "web", "--parser", "http.raw", "--out",
                              str(tmp_path / "model"), str(train)))
    assert summary["training"]["events"] == 800 and summary["kind"] == "web"
    lines = [json.loads(x) for x in _run("anomaly", "score", "--model", str(tmp_path / "model"), "--parser",
                                         "http.raw", str(attacks)).splitlines()]
    assert len(lines) == len(ATTACKS) + 1
    assert set(lines[0]) == {"event.id", "log.offset", "anomaly.score", "anomaly.threshold", "anomaly.is_anomaly",
                             "anomaly.reasons"}
    assert all(x["anomaly.is_anomaly"] for x in lines[:-1])
    assert [x["log.offset"] for x in lines] == sorted(x["log.offset"] for x in lines)
    junk = lines[-1]
    assert junk["anomaly.score"] is None and "request line" in junk["error.message"]
    normal_lines = [json.loads(x) for x in _run("anomaly", "score", "--model", str(tmp_path / "model"),
                                                "--parser", "http.raw", str(normal)).splitlines()]
    assert len(normal_lines) == 200
    assert sum(x["anomaly.is_anomaly"] for x in normal_lines) <= 6


def test_model_and_threshold_come_from_the_training_files_only(tmp_path: Path) -> None:
    """The same model (byte for byte) whether the test files sit next to the training
    file or not, and scoring the test files changes nothing in the model directory."""
    with_tests = tmp_path / "with"
    with_tests.mkdir()
    train, normal, attacks = _files(with_tests)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy2(train, alone / "train.http")
    os.utime(alone / "train.http", ns=(train.stat().st_atime_ns, train.stat().st_mtime_ns))
    _run("anomaly", "train", "--kind", "web", "--parser", "http.raw", "--out", str(tmp_path / "m1"), str(train))
    _run("anomaly", "train", "--kind", "web", "--parser", "http.raw", "--out", str(tmp_path / "m2"),
         str(alone / "train.http"))
    assert _digest(tmp_path / "m1") == _digest(tmp_path / "m2")
    before = _digest(tmp_path / "m1")
    _run("anomaly", "score", "--model", str(tmp_path / "m1"), "--parser", "http.raw", str(normal), str(attacks))
    assert _digest(tmp_path / "m1") == before
    # The threshold is a quantile of held-back *training* scores: another quantile moves it,
    # the test files never do.
    _run("anomaly", "train", "--kind", "web", "--parser", "http.raw", "--quantile", "0.5", "--out",
         str(tmp_path / "m3"), str(train))
    meta = json.loads((tmp_path / "m3" / "model.json").read_text())
    assert meta["threshold_rule"].startswith("quantile 0.5 of the scores of")


def test_network_model_from_ecs_events_with_a_feature_list(tmp_path: Path) -> None:
    rows = [{"event": {"original": f"r{i}"}, "network": {"transport": "tcp"},
             "source": {"bytes": 100 + i % 50}, "destination": {"bytes": 2000 + (i * 7) % 300}} for i in range(400)]
    train = tmp_path / "train.ndjson"
    train.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    test = tmp_path / "test.ndjson"
    test.write_text(json.dumps({"event": {"id": "odd"}, "network": {"transport": "icmp"},
                                "source": {"bytes": 9_000_000}, "destination": {"bytes": 0}}) + "\n")
    _run("anomaly", "train", "--kind", "network", "--ecs", "--features",
         "network.transport:cat,source.bytes,destination.bytes", "--out", str(tmp_path / "net"), str(train))
    line = json.loads(_run("anomaly", "score", "--model", str(tmp_path / "net"), "--ecs", str(test)))
    assert line["event.id"] == "odd" and line["anomaly.is_anomaly"]
    assert {r["field"] for r in line["anomaly.reasons"]} & {"source.bytes", "network.transport"}
    bad = tmp_path / "bad.ndjson"
    bad.write_text("{}\nnot json\n")
    result = CliRunner().invoke(cli, ["anomaly", "score", "--model", str(tmp_path / "net"), "--ecs", str(bad)])
    assert result.exit_code != 0 and "bad.ndjson:2: not a JSON event" in result.output


def test_entity_kind_scores_each_event_with_its_window(tmp_path: Path) -> None:
    def line(when: datetime, dest: str) -> str:
        return json.dumps({"@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "event": {"id": dest + str(when)},
                           "host": {"name": "cam01"}, "destination": {"ip": dest}})

    train = tmp_path / "train.ndjson"
    train.write_text("\n".join(line(T0 + timedelta(minutes=m, seconds=s), "10.0.0.1") for m in range(20)
                               for s in range(3)) + "\n")
    test = tmp_path / "test.ndjson"
    test.write_text("\n".join([line(T0 + timedelta(hours=1), "10.0.0.1")]
                              + [line(T0 + timedelta(hours=2, seconds=i), f"45.1.1.{i}") for i in range(9)]) + "\n")
    _run("anomaly", "train", "--kind", "host", "--ecs", "--window-secs", "60", "--min-history", "5", "--out",
         str(tmp_path / "host"), str(train))
    lines = [json.loads(x) for x in _run("anomaly", "score", "--model", str(tmp_path / "host"), "--ecs",
                                         str(test)).splitlines()]
    assert len(lines) == 10
    assert not lines[0]["anomaly.is_anomaly"]
    assert all(x["anomaly.is_anomaly"] for x in lines[1:])
    assert lines[1]["anomaly.reasons"][0]["field"] == "new_destinations"


def test_explain_a_stored_alert_and_a_stored_event_in_both_languages(tmp_path: Path) -> None:
    train, _, _ = _files(tmp_path)
    _run("anomaly", "train", "--kind", "web", "--parser", "http.raw", "--out", str(tmp_path / "model"), str(train))
    model = load_model(str(tmp_path / "model"))
    parser = HttpRawParser()
    attack = parser.parse(RawEvent.from_bytes(raw_stream([ATTACKS[1]]).encode(), "/a", T0, 0))
    normal = parser.parse(RawEvent.from_bytes(raw_stream([("GET", "/shop/index.jsp", "")]).encode(), "/n", T0, 0))
    alerts = AnomalyDetector([model], clock=FrozenClock(T0)).detect(attack)
    assert len(alerts) == 1
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    store.write([attack, normal, *alerts])
    store.close()
    out = _run("anomaly", "explain", "--model", str(tmp_path / "model"), "--store", url, alerts[0]["event"]["id"])
    assert "BẤT THƯỜNG / ANOMALOUS" in out
    assert "tham số 'q' chứa ký tự chưa từng thấy" in out and "parameter 'q' has characters never seen there" in out
    assert "<script>" in out
    out = _run("anomaly", "explain", "--model", str(tmp_path / "model"), "--store", url, normal["event"]["id"])
    assert "bình thường / normal" in out
    result = CliRunner().invoke(cli, ["anomaly", "explain", "--model", str(tmp_path / "model"), "--store", url,
                                      "nope"])
    assert result.exit_code != 0 and "no alert or event with id nope" in result.output
