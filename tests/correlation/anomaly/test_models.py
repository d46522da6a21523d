"""The web, connection-record and entity models, their artefacts and explanations, on
generated traffic (seeded) and small slices of the labelled corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from correlation.anomaly import artefact
from correlation.anomaly.detector import AnomalyDetector
from correlation.anomaly.entity import MAX_KNOWN, EntityModel
from correlation.anomaly.models import EntityOptions, Model, load_model, train
from correlation.anomaly.tabular import parse_features
from correlation.anomaly.web import request_of, shape_of, split_params
from parsers.web.http_raw import HttpRawParser
from soc_core.clock import FrozenClock
from soc_core.errors import ModelError
from soc_core.event import RawEvent, format_timestamp
from tests.correlation.anomaly._support import ATTACKS, normal_requests, raw_request

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def web_events(requests: list[tuple[str, str, str]], source: str = "/train") -> list[dict[str, Any]]:
    parser = HttpRawParser()
    return [parser.parse(RawEvent.from_bytes(raw_request(m, t, b, "Mozilla/5.0").encode(), source, T0, i * 1000))
            for i, (m, t, b) in enumerate(requests)]


@pytest.fixture(scope="module")
def web_model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    out = tmp_path_factory.mktemp("web")
    artefact.save(train("web", web_events(normal_requests(2000, seed=1))), out)
    return load_model(str(out))


def test_web_model_flags_every_attack_and_few_normal_requests(web_model: Model) -> None:
    normal = web_model.score_events(web_events(normal_requests(1000, seed=2), "/test"))
    attacks = web_model.score_events(web_events(ATTACKS, "/attacks"))
    assert all(s is not None and s.is_anomaly for s in attacks)
    false_positives = sum(1 for s in normal if s is not None and s.is_anomaly)
    assert false_positives <= 20  # the threshold is the 0.99 quantile of held-back training scores


def test_web_reasons_name_the_parameter_its_value_and_the_baseline(web_model: Model) -> None:
    scored = web_model.score_events(web_events([ATTACKS[0]]))[0]
    assert scored is not None
    top = scored.reasons[0].as_dict()
    assert top["field"] == "id" and top["feature"] in ("param.chars", "param.length", "param.shape")
    assert "1' OR '1'='1" in json.dumps([r.as_dict()["value"] for r in scored.reasons])
    chars = next(r for r in scored.reasons if r.feature == "param.chars")
    assert "digits" in chars.baseline and "'" in chars.baseline
    assert chars.as_dict()["text_vi"].startswith("tham số 'id'")
    unknown = web_model.score_events(web_events([ATTACKS[-1]]))[0]
    assert unknown is not None and any(r.feature == "param.unknown" and r.field == "cmd" for r in unknown.reasons)


def test_request_features_keep_encoded_separators_inside_values() -> None:
    assert split_params("a=1%262&b=x+y&c") == [("a", b"1&2"), ("b", b"x y"), ("c", b"")]
    assert shape_of(b"john.doe@mail.example") == "a.a@a.a"
    request = request_of({"url": {"original": "http://s:81/p%20q?x=%27", "domain": "s", "port": 81},
                          "http": {"request": {"method": "get"}}})
    assert request is not None
    assert (request.site, request.method, request.path, request.params) == ("s:81", "GET", "/p q", (("x", b"'"),))


def test_access_log_and_modsecurity_events_are_scored_too(web_model: Model) -> None:
    access = {"url": {"original": "/shop/product.jsp?id=1%27--&lang=en", "path": "/shop/product.jsp"},
              "http": {"request": {"method": "GET"}}, "host": {"name": "www"}}
    # No url.domain: the site is another one than the model's, and says so.
    scored = web_model.score_events([access])[0]
    assert scored is not None and scored.is_anomaly and scored.reasons[0].feature == "path.unseen"
    access["url"]["domain"], access["url"]["port"] = "shop.example", 8080
    scored = web_model.score_events([access])[0]
    assert scored is not None and scored.is_anomaly
    assert {r.feature for r in scored.reasons} >= {"param.chars"}


def test_artefact_records_schema_window_versions_and_refuses_mismatches(tmp_path: Path) -> None:
    art = train("web", web_events(normal_requests(300, seed=1)))
    artefact.save(art, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["kind"] == "web" and meta["schema"]["kind"] == "web"
    assert meta["training"]["events"] == 300 and meta["training"]["first"] == format_timestamp(T0)
    assert set(meta["versions"]) >= {"scikit-learn", "numpy", "python", "soc-pipeline"}
    assert meta["threshold_rule"].startswith("quantile 0.99 of the scores of")
    assert load_model(str(tmp_path / "m")).model_id == meta["model_id"]

    def broken(change: Any) -> Path:
        copy = json.loads(json.dumps(meta))
        change(copy)
        where = tmp_path / f"b{len(list(tmp_path.iterdir()))}"
        where.mkdir()
        (where / "model.json").write_text(json.dumps(copy))
        return where

    with pytest.raises(ModelError, match=r"trained with scikit-learn 0\.24\.2"):
        load_model(str(broken(lambda m: m["versions"].update({"scikit-learn": "0.24.2"}))))
    with pytest.raises(ModelError, match="model format 99"):
        load_model(str(broken(lambda m: m.update(format=99))))
    with pytest.raises(ModelError, match="does not match its recorded hash"):
        load_model(str(broken(lambda m: m["schema"].update(version=99))))
    newer = broken(lambda m: m.update(schema={**m["schema"], "version": 99}))
    data = json.loads((newer / "model.json").read_text())
    data["schema_hash"] = artefact.schema_hash(data["schema"])
    (newer / "model.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="feature schema of this web model differs"):
        load_model(str(newer))
    with pytest.raises(ModelError, match=r"no model\.json"):
        load_model(str(tmp_path / "absent"))


def _connections(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    return [{"event": {"original": f"c{i}-{rng.random()}", "duration": float(rng.integers(1, 1000)) * 1e6},
             "network": {"transport": str(rng.choice(["tcp", "udp"]))},
             "destination": {"port": int(rng.choice([53, 443])), "bytes": int(rng.integers(1000, 5000))},
             "source": {"bytes": int(rng.integers(100, 500))}} for i in range(n)]


def test_connection_model_scores_outliers_and_names_the_field(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    features = parse_features("network.transport:cat,destination.port:cat,source.bytes,destination.bytes,"
                              "event.duration")
    art = train("network", _connections(rng, 2000), features=features)
    artefact.save(art, tmp_path / "net")
    assert (tmp_path / "net" / "arrays.npz").exists()
    model = load_model(str(tmp_path / "net"))
    normal = model.score_events(_connections(rng, 500))
    assert sum(1 for s in normal if s is not None and s.is_anomaly) <= 20
    odd = _connections(rng, 1)[0]
    odd["source"]["bytes"] = 50_000_000
    scored = model.score_events([odd])[0]
    assert scored is not None and scored.is_anomaly
    assert scored.reasons[0].field == "source.bytes" and scored.reasons[0].feature == "numeric.high"
    assert "percentile" in scored.reasons[0].baseline
    port = _connections(rng, 1)[0]
    port["destination"]["port"] = 6667
    scored = model.score_events([port])[0]
    assert scored is not None and any(r.field == "destination.port" and "never seen" in r.baseline
                                      for r in scored.reasons)
    (tmp_path / "net" / "arrays.npz").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="checksum"):
        load_model(str(tmp_path / "net"))


def _host_event(when: datetime, node: str, destination: str, node_type: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"@timestamp": format_timestamp(when), "event": {"id": f"{node}-{when.timestamp()}"},
                             "host": {"name": node}, "destination": {"ip": destination}}
    if node_type:
        event["host"]["type"] = node_type
    return event


def _camera_history(minutes: int) -> list[dict[str, Any]]:
    out = []
    for minute in range(minutes):
        for node in ("cam01", "cam02"):
            for k, dest in enumerate(("10.0.0.1", "8.8.8.8", "10.0.0.1", "1.1.1.1")):
                out.append(_host_event(T0 + timedelta(minutes=minute, seconds=k), node, dest, "camera"))
    return out


def test_entity_detector_alerts_on_a_new_outbound_pattern_with_its_baseline() -> None:
    art = train("host", _camera_history(30), entity=EntityOptions(window_secs=60, min_history=5))
    model = Model(art)
    clock = FrozenClock(T0 + timedelta(hours=2))
    detector = AnomalyDetector([model], clock=clock)
    later = T0 + timedelta(hours=1)
    clock.advance(timedelta(seconds=11))  # each flush below comes after the idle time
    quiet = [a for e in _camera_history(1) for a in detector.detect({**e, "@timestamp": format_timestamp(
        later + (datetime.fromisoformat(e["@timestamp"].replace("Z", "+00:00")) - T0))})]
    assert quiet == []
    clock.advance(timedelta(seconds=11))
    assert detector.flush(clock.now()) == []  # the replayed minute closes: nothing unusual
    assert all(state.window is None for state in model.entity.entities.values())  # type: ignore[union-attr]
    burst = [_host_event(later + timedelta(minutes=5, seconds=i), "cam02", f"45.77.{i}.9") for i in range(20)]
    assert [a for e in burst for a in detector.detect(e)] == []
    assert detector.flush(clock.now()) == []  # just received: the window may still grow
    clock.advance(timedelta(seconds=11))
    alerts = detector.flush(clock.now())
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["host"]["name"] == "cam02" and alert["event"]["kind"] == "alert"
    assert alert["anomaly"]["entity"] == {"type": "host", "id": "cam02", "peer_group": "camera",
                                          "baseline": "entity"}
    reason = alert["anomaly"]["reasons"][0]
    assert reason["field"] == "new_destinations" and reason["value"] == 20
    assert "mean 0" in reason["baseline"]
    assert alert["alert"]["event_ids"][0] == burst[0]["event"]["id"]
    assert detector.flush(clock.now()) == []  # closed once


def test_new_entity_is_judged_against_its_peer_group() -> None:
    model = Model(train("host", _camera_history(30), entity=EntityOptions(window_secs=60, min_history=5)))
    clock = FrozenClock(T0 + timedelta(hours=2))
    detector = AnomalyDetector([model], clock=clock)
    later = T0 + timedelta(hours=1)
    for i in range(30):
        detector.detect(_host_event(later + timedelta(seconds=i), "cam09", f"45.78.{i}.1", "camera"))
    clock.advance(timedelta(seconds=11))
    alerts = detector.flush(clock.now())
    assert len(alerts) == 1 and alerts[0]["anomaly"]["entity"]["baseline"] == "peer"
    assert "peer group 'camera'" in alerts[0]["anomaly"]["reasons"][0]["baseline"]


def test_entity_memory_is_bounded() -> None:
    model = EntityModel("host", window_secs=60, max_entities=50)
    closed: list[Any] = []
    for i in range(500):
        model.observe(_host_event(T0 + timedelta(seconds=i), f"node{i}", "8.8.8.8"), closed.append)
    assert len(model.entities) == 50 and model.evicted == 450 and len(closed) == 450
    one = EntityModel("host", window_secs=1)
    for i in range(3 * MAX_KNOWN):
        one.observe(_host_event(T0 + timedelta(seconds=i), "cam01", f"45.{i // 250}.{i % 250}.1"), closed.append)
    assert len(one.entities["cam01"].known) == MAX_KNOWN


def test_auth_model_counts_failures_and_new_sources() -> None:
    events = []
    for minute in range(20):
        for k in range(3):
            events.append({"@timestamp": format_timestamp(T0 + timedelta(hours=3, minutes=minute, seconds=k)),
                           "user": {"name": "an"}, "source": {"ip": "10.1.1.5"},
                           "event": {"category": ["authentication"], "outcome": "success"}})
    model = Model(train("auth", events, entity=EntityOptions(window_secs=60, min_history=5)))
    clock = FrozenClock(T0 + timedelta(days=1))
    detector = AnomalyDetector([model], clock=clock)
    for k in range(12):
        detector.detect({"@timestamp": format_timestamp(T0 + timedelta(hours=5, seconds=k)),
                         "user": {"name": "an"}, "source": {"ip": f"203.0.113.{k}"},
                         "event": {"category": ["authentication"], "outcome": "failure"}})
    clock.advance(timedelta(seconds=11))
    alerts = detector.flush(clock.now())
    assert len(alerts) == 1
    fields = {r["field"] for r in alerts[0]["anomaly"]["reasons"]}
    assert {"logon_failures", "new_source_addresses"} <= fields
    assert alerts[0]["user"]["name"] == "an"


def test_csic_slice_recall_and_false_positives() -> None:
    """A slice of CSIC 2010 (first 12,000 training requests; 1,000 of each test file)."""
    from itertools import islice

    from parsers.base import frame_file
    from tests.conftest import corpus_path

    parser = HttpRawParser()

    def events(name: str, count: int) -> list[dict[str, Any]]:
        path = corpus_path("labelled", "csic_2010", f"{name}.txt.gz")
        return [parser.parse(raw) for raw in islice(frame_file(str(path), parser.framer, T0), count)]

    model = Model(train("web", events("normalTrafficTraining", 12_000)))
    normal = model.score_events(events("normalTrafficTest", 1000))
    attack = model.score_events(events("anomalousTrafficTest", 1000))
    fpr = sum(1 for s in normal if s and s.is_anomaly) / len(normal)
    recall = sum(1 for s in attack if s and s.is_anomaly) / len(attack)
    assert recall >= 0.9 and fpr <= 0.05, (recall, fpr)


def test_retraining_on_a_schedule_reads_the_store_and_swaps_the_detectors_model(tmp_path: Path) -> None:
    from correlation.anomaly.schedule import RetrainSchedule
    from soc_store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    history = _camera_history(30)
    for i, event in enumerate(history):
        event["event"] = {"id": f"e{i}", "kind": "event", "dataset": "iptables.log"}
    store.write(history)
    clock = FrozenClock(T0 + timedelta(hours=1))
    detector = AnomalyDetector([], clock=clock)
    schedule = RetrainSchedule("host", tmp_path / "host", store, query="event.dataset:iptables.log",
                               interval_secs=3600, history_secs=7200, entity=EntityOptions(60, 5), clock=clock,
                               on_new=detector.replace)
    art = schedule.tick()
    assert art is not None and art.training["events"] == len(history)
    assert [m.kind for m in detector.models] == ["host"]
    assert load_model(str(tmp_path / "host")).model_id == art.model_id
    assert schedule.tick() is None  # not due again before interval_secs
    clock.advance(timedelta(hours=1))
    empty = RetrainSchedule("host", tmp_path / "other", store, query="event.dataset:nothing", clock=clock)
    assert empty.tick() is None and empty.last_error is not None
    assert not (tmp_path / "other" / "model.json").exists()
    store.close()
