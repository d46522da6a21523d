"""``soc run``'s scheduled retraining of its anomaly models (``--anomaly-retrain-secs``).

A thread with its own store connection ticks one :class:`~correlation.anomaly.schedule.RetrainSchedule`
per loaded model: every interval it trains the same kind (and, for the network model, the
same features) on the stored events of the last ``history_secs``, saves it over the model
directory and swaps it into the running detector. Thresholds come from those training events
only, as in ``soc anomaly train``. A failed training keeps the current model and shows on
``/health`` as the background task ``anomaly_retrain`` until a later run succeeds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.health import ServiceHealth
from soc_core.clock import Clock
from soc_core.contracts import Detector, Store

if TYPE_CHECKING:  # scikit-learn loads only when a model is used, not with every `soc run`
    from correlation.anomaly.detector import AnomalyDetector
    from correlation.anomaly.schedule import RetrainSchedule

log = logging.getLogger(__name__)
RETRAIN_TASK = "anomaly_retrain"


def schedules_for(detector: AnomalyDetector, model_dirs: Sequence[str], store: Store, clock: Clock,
                  interval_secs: int, history_secs: int) -> list[RetrainSchedule]:
    """One schedule per loaded model, writing back to the directory it was loaded from; the
    first run is one interval after start-up (the loaded model is fresh)."""
    from correlation.anomaly.models import EntityOptions
    from correlation.anomaly.schedule import RetrainSchedule

    now = clock.now()
    schedules = []
    for model, out_dir in zip(detector.models, model_dirs, strict=True):
        features: Any = model.artefact.schema.get("features") if model.kind == "network" else None
        # The entity windows the model was trained with, so a retrained model scores alike.
        entity = EntityOptions() if model.entity is None else EntityOptions(
            window_secs=model.entity.window_us // 1_000_000, min_history=model.entity.min_history)
        schedules.append(RetrainSchedule(
            kind=model.kind, out_dir=Path(out_dir), store=store, interval_secs=interval_secs,
            history_secs=history_secs, features=features, entity=entity, clock=clock, on_new=detector.replace,
            last_run=now,
        ))
    return schedules


def start_retrainer(open_store: Callable[[], Store], detectors: Sequence[Detector], model_dirs: Sequence[str],
                    clock: Clock, interval_secs: int, history_secs: int, health: ServiceHealth,
                    stop: threading.Event) -> threading.Thread | None:
    """The retraining thread, or None when retraining is off or no model is loaded."""
    if interval_secs <= 0 or not model_dirs:
        return None
    from correlation.anomaly.detector import AnomalyDetector

    anomaly = next((d for d in detectors if isinstance(d, AnomalyDetector)), None)
    if anomaly is None:
        return None

    def body() -> None:
        store: Store | None = None
        try:
            store = open_store()
            schedules = schedules_for(anomaly, model_dirs, store, clock, interval_secs, history_secs)
            while not stop.wait(min(interval_secs, 5)):
                for schedule in schedules:
                    if schedule.tick() is None and schedule.last_error:
                        health.task_failed(RETRAIN_TASK, f"{schedule.kind}: {schedule.last_error}")
                    elif schedule.last_error is None and schedule.runs:
                        health.task_ok(RETRAIN_TASK)
        except Exception as exc:  # a dead retrainer must show on /health, not vanish
            log.error("anomaly retraining stopped: %s", exc)
            health.task_failed(RETRAIN_TASK, f"stopped: {type(exc).__name__}: {exc}")
        finally:
            if store is not None:
                store.close()

    thread = threading.Thread(target=body, name="soc-anomaly-retrain", daemon=True)
    thread.start()
    return thread
