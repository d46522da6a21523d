"""``soc run --anomaly-retrain-secs``: the retraining thread reads the store, saves the model
over its directory, swaps it into the running detector, and reports a failed training on
``/health`` (real SQLite store, real thread, the system clock; bounded waits)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from correlation.anomaly.artefact import save
from correlation.anomaly.detector import AnomalyDetector
from correlation.anomaly.models import EntityOptions, Model, load_model, train
from ingest.health import ServiceHealth
from soc_api.commands._retrain import RETRAIN_TASK, start_retrainer
from soc_core.clock import SystemClock
from soc_store import open_store
from tests.correlation.anomaly.test_models import _camera_history

HISTORY_SECS = 400 * 86_400  # the camera history is stamped in 2026-11; the clock is the system's


def _wait(predicate: object, secs: float = 30.0) -> bool:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_the_model_is_retrained_from_the_store_saved_and_swapped_in(tmp_path: Path) -> None:
    history = _camera_history(30)
    for i, event in enumerate(history):
        event["event"] = {"id": f"e{i}", "kind": "event", "dataset": "iptables.log"}
    model_dir = tmp_path / "host"
    first = train("host", history[:160], entity=EntityOptions(window_secs=60, min_history=5))
    save(first, model_dir)
    detector = AnomalyDetector([load_model(str(model_dir))])
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    store.write(history)  # everything the service stored since the model was made
    store.close()
    health, stop = ServiceHealth(), threading.Event()
    thread = start_retrainer(lambda: open_store(url), [detector], [str(model_dir)], SystemClock(), 1,
                             HISTORY_SECS, health, stop)
    assert thread is not None
    try:
        assert _wait(lambda: detector.models[0].artefact.training["events"] == len(history))
    finally:
        stop.set()
        thread.join(timeout=30)
    model: Model = detector.models[0]
    assert model.kind == "host" and model.model_id != first.model_id
    assert model.entity is not None and model.entity.window_us == 60_000_000  # trained as the loaded one was
    assert load_model(str(model_dir)).model_id == model.model_id
    assert not any(RETRAIN_TASK in p for p in health.problems(0))


def test_a_failed_training_keeps_the_model_and_shows_on_health(tmp_path: Path) -> None:
    model_dir = tmp_path / "host"
    first = train("host", _camera_history(30), entity=EntityOptions(window_secs=60, min_history=5))
    save(first, model_dir)
    detector = AnomalyDetector([load_model(str(model_dir))])
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()  # nothing stored: nothing to train on
    health, stop = ServiceHealth(), threading.Event()
    thread = start_retrainer(lambda: open_store(url), [detector], [str(model_dir)], SystemClock(), 1,
                             HISTORY_SECS, health, stop)
    assert thread is not None
    try:
        assert _wait(lambda: any(RETRAIN_TASK in p for p in health.problems(0)))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert detector.models[0].model_id == first.model_id
    assert load_model(str(model_dir)).model_id == first.model_id


def test_off_without_an_interval_or_a_model() -> None:
    stop, clock = threading.Event(), SystemClock()
    never = open_store  # not called: nothing to retrain
    assert start_retrainer(never, [], [], clock, 60, 60, ServiceHealth(), stop) is None
    assert start_retrainer(never, [AnomalyDetector([])], [], clock, 0, 60, ServiceHealth(), stop) is None
