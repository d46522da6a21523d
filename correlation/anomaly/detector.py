"""The anomaly detector in the pipeline: loaded models turn events into anomaly alerts.

``detect(event)`` scores the event with every per-event model that applies (web requests,
connection records) and feeds it to every entity model; an event above a model's
threshold gives an alert at once, an entity window above its threshold gives one when the
window closes. ``flush(now)`` closes the entity windows that ended ``grace_secs`` before
the newest event time seen, and the windows already over by the wall clock whose entity
has sent nothing for ``idle_secs``, so quiet entities still get their windows scored
while a replay of old logs does not see its windows cut while their events still arrive.

Alerts have the shape of the Sigma ones (``rules.alerts``): ``event.kind: alert``,
``rule.*`` (``ruleset: anomaly``, the model id), ``alert.event_ids``, a deterministic
``event.id``, and the evidence under ``anomaly.*``: ``score``, ``threshold``,
``is_anomaly``, ``model``, ``reasons`` (feature, value, baseline, contribution, and a
sentence in English and Vietnamese).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, Final

from correlation.alert import micros_to_timestamp
from correlation.anomaly.entity import WindowResult
from correlation.anomaly.models import Model, Scored
from rules.alerts import alert_id
from soc_core.clock import Clock, SystemClock
from soc_core.event import KIND_ALERT, Event, format_timestamp, set_field, timestamp_micros

DATASET: Final = "anomaly"
SEVERITY: Final = 47  # "medium" on the Sigma scale: an anomaly asks for a look, not a page
DEFAULT_GRACE_SECS: Final = 60
DEFAULT_IDLE_SECS: Final = 10
_TITLES: Final = {
    "web": ("Anomalous web request", "Yêu cầu web bất thường"),
    "network": ("Anomalous connection record", "Bản ghi kết nối bất thường"),
    "entity.network": ("Source address behaves unusually", "Địa chỉ nguồn hoạt động bất thường"),
    "entity.auth": ("User logon behaviour is unusual", "Hành vi đăng nhập của người dùng bất thường"),
    "entity.host": ("Host behaves unusually", "Máy chủ/thiết bị hoạt động bất thường"),
}


def anomaly_fields(model: Model, scored: Scored, kind: str) -> dict[str, Any]:
    """The ``anomaly.*`` object of an alert or a scored event."""
    return {"score": round(scored.score, 6), "threshold": round(scored.threshold, 6),
            "is_anomaly": scored.is_anomaly, "kind": kind,
            "model": {"id": model.model_id, "kind": model.kind},
            "reasons": [r.as_dict() for r in scored.reasons]}


def _rule(model: Model, title_key: str) -> dict[str, Any]:
    en, vi = _TITLES[title_key]
    return {"id": f"anomaly:{model.model_id}:{title_key}", "name": en, "name_vi": vi, "ruleset": DATASET,
            "category": "medium",
            "description": f"Score above the threshold chosen from training data ({model.artefact.threshold_rule})."}


def event_alert(model: Model, event: Event, scored: Scored, created: datetime | None) -> Event:
    """An alert for one anomalous event (the event copied, as Sigma alerts do)."""
    alert: Event = copy.deepcopy(event)
    source_id = str(alert.get("event", {}).get("id", ""))
    rule = _rule(model, model.kind)
    ev = dict(alert.get("event", {}))
    ev.update(kind=KIND_ALERT, id=alert_id(rule["id"], [source_id]), severity=SEVERITY)
    if created is not None:
        ev["created"] = format_timestamp(created)
    alert["event"] = ev
    alert["rule"] = rule
    alert["alert"] = {"event_ids": [source_id] if source_id else []}
    alert["anomaly"] = anomaly_fields(model, scored, model.kind)
    reasons = "; ".join(r.as_dict()["text"] for r in scored.reasons[:3])
    alert["message"] = f"{rule['name']} (score {scored.score:.3g} > {scored.threshold:.3g}): {reasons}"
    return alert


def window_alert(model: Model, result: WindowResult, created: datetime | None) -> Event:
    """An alert for one anomalous entity window."""
    title_key = f"entity.{result.kind}"
    rule = _rule(model, title_key)
    scored = Scored(result.score, model.entity_threshold, result.reasons)
    ids = [f"{result.entity}@{result.start_us}", *result.event_ids]
    alert: Event = {
        "@timestamp": micros_to_timestamp(result.end_us),
        "event": {"kind": KIND_ALERT, "id": alert_id(rule["id"], ids), "dataset": DATASET, "module": DATASET,
                  "severity": SEVERITY, "start": micros_to_timestamp(result.start_us),
                  "end": micros_to_timestamp(result.end_us)},
        "rule": rule,
        "alert": {"event_ids": list(result.event_ids)},
        "anomaly": {**anomaly_fields(model, scored, title_key),
                    "entity": {"type": result.kind, "id": result.entity, "peer_group": result.peer,
                               "baseline": result.baseline},
                    "features": result.features},
    }
    if created is not None:
        alert["event"]["created"] = format_timestamp(created)
    assert model.entity is not None  # a window result comes from the entity model
    set_field(alert, model.entity.spec.key, result.entity)
    reasons = "; ".join(f"{r.field}={r.value:g} ({r.baseline})" for r in result.reasons[:3])
    alert["message"] = f"{rule['name']}: {result.entity} (score {result.score:.3g} > {scored.threshold:.3g}): {reasons}"
    return alert


class AnomalyDetector:
    """Scores events with loaded models (see the module docstring)."""

    name = "anomaly"

    def __init__(self, models: Sequence[Model], clock: Clock | None = None,
                 grace_secs: int = DEFAULT_GRACE_SECS, idle_secs: int = DEFAULT_IDLE_SECS) -> None:
        self.models = list(models)
        self.clock = clock or SystemClock()
        self.grace_us = grace_secs * 1_000_000
        self.idle_us = idle_secs * 1_000_000
        self.watermark_us = 0
        self.scored = 0
        self.alerts = 0

    def replace(self, model: Model) -> None:
        """Swap in a retrained model: the one of the same kind is replaced (or it is added).
        Open entity windows of the old model are dropped with it."""
        self.models = [m for m in self.models if m.kind != model.kind] + [model]

    def detect(self, event: Event) -> list[Event]:
        out: list[Event] = []
        stamp = event.get("@timestamp")
        if isinstance(stamp, str):
            self.watermark_us = max(self.watermark_us, timestamp_micros(stamp))
        touched = timestamp_micros(self.clock.now())
        for model in self.models:
            if model.applies(event):
                scored = model.score_events([event])[0]
                if scored is not None:
                    self.scored += 1
                    if scored.is_anomaly:
                        out.append(event_alert(model, event, scored, self.clock.now()))
            if model.entity is not None:
                model.entity.observe(event, partial(self._window, model, out=out), touched)
        self.alerts += len(out)
        return out

    def flush(self, now: datetime) -> list[Event]:
        out: list[Event] = []
        now_us = timestamp_micros(now)
        for model in self.models:
            if model.entity is not None:
                model.entity.close_due(self.watermark_us - self.grace_us, partial(self._window, model, out=out),
                                       now_us=now_us, idle_before_us=now_us - self.idle_us)
        self.alerts += len(out)
        return out

    def _window(self, model: Model, result: WindowResult, *, out: list[Event]) -> None:
        if result.score > model.entity_threshold:
            out.append(window_alert(model, result, self.clock.now()))
