"""Training and loading anomaly models of each kind, and scoring events with them.

Kinds: ``web`` (:mod:`correlation.anomaly.web`, one score per request), ``network`` (the
connection-record model of :mod:`correlation.anomaly.tabular`, one score per event, plus
the per-source-address behaviour of :mod:`correlation.anomaly.entity`), ``auth`` and
``host`` (entity behaviour only: one score per entity window).

Thresholds and every fitted parameter come from the training events alone. For the
per-event models the training events are split by their id (a stable hash, so the same
events always split the same way whatever their order): one in :data:`HOLDOUT_MODULO`
is held back, the model is fitted on the rest, and the threshold is the ``quantile`` of
the held-back events' scores. For entity models every training window is scored against
the baseline learnt before it, and the threshold is the ``quantile`` of those scores, at
least :data:`ENTITY_MIN_THRESHOLD` (a prior: below three spreads above the mean nothing
is unusual enough to page anyone).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from correlation.anomaly import artefact as store
from correlation.anomaly.entity import SPECS, EntityModel, WindowResult, schema_of
from correlation.anomaly.explain import Reason, top
from correlation.anomaly.tabular import DEFAULT_FEATURES, TabularModel
from correlation.anomaly.web import SCHEMA as WEB_SCHEMA
from correlation.anomaly.web import Request, WebModel, request_of
from soc_core.errors import ModelError
from soc_core.event import Event, get_field

KINDS: Final = ("web", "network", "auth", "host")
HOLDOUT_MODULO: Final = 10
DEFAULT_QUANTILE: Final = 0.99
ENTITY_MIN_THRESHOLD: Final = 3.0


@dataclass(frozen=True)
class Scored:
    """One event's (or window's) score and what made it."""

    score: float
    threshold: float
    reasons: list[Reason]

    @property
    def is_anomaly(self) -> bool:
        return self.score > self.threshold


@dataclass(frozen=True)
class EntityOptions:
    window_secs: int = 300
    min_history: int = 6
    max_entities: int = 50_000
    work_hours: tuple[int, int] = (7, 19)
    tz: str = "Asia/Ho_Chi_Minh"


def is_holdout(event: Event, position: int) -> bool:
    """One event in :data:`HOLDOUT_MODULO` is held back, chosen by a hash of its original
    text (so the split does not depend on file names, paths or order)."""
    original = get_field(event, "event.original")
    if isinstance(original, str):
        digest = hashlib.blake2b(original.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % HOLDOUT_MODULO == 0
    return position % HOLDOUT_MODULO == 0


class _Window:
    """The training window: how many events, first and last ``@timestamp``."""

    def __init__(self) -> None:
        self.events = 0
        self.first: str | None = None
        self.last: str | None = None

    def see(self, event: Event) -> None:
        self.events += 1
        stamp = event.get("@timestamp")
        if isinstance(stamp, str):
            self.first = stamp if self.first is None or stamp < self.first else self.first
            self.last = stamp if self.last is None or stamp > self.last else self.last

    def as_dict(self, **extra: Any) -> dict[str, Any]:
        return {"events": self.events, "first": self.first, "last": self.last, **extra}


def _quantile(scores: Sequence[float], q: float) -> float:
    if not scores:
        raise ModelError("no held-back training events to choose a threshold from (too few training events)")
    return float(np.quantile(np.asarray(scores, dtype=np.float64), q))


def train(kind: str, events: Iterable[Event], *, quantile: float = DEFAULT_QUANTILE,
          features: list[dict[str, str]] | None = None, entity: EntityOptions | None = None) -> store.Artefact:
    """Fit a model of ``kind`` on ``events`` (normal traffic) and choose its threshold."""
    if kind not in KINDS:
        raise ModelError(f"unknown model kind {kind!r} (known: {', '.join(KINDS)})")
    if not 0.0 < quantile < 1.0:
        raise ModelError(f"quantile must be between 0 and 1, got {quantile}")
    window = _Window()
    if kind == "web":
        return _train_web(events, quantile, window)
    entity_model = None
    if kind in SPECS:
        opts = entity or EntityOptions()
        entity_model = EntityModel(kind, window_secs=opts.window_secs, min_history=opts.min_history,
                                   max_entities=opts.max_entities, work_hours=opts.work_hours, tz=opts.tz)
    if kind == "network":
        return _train_network(events, quantile, window, features or DEFAULT_FEATURES, entity_model)
    assert entity_model is not None
    scores: list[float] = []
    for event in events:
        window.see(event)
        entity_model.observe(event, lambda r: _keep_score(r, scores))
    entity_model.close_all(lambda r: _keep_score(r, scores))
    if not entity_model.entities:
        raise ModelError(f"no training event names a {kind} entity ({entity_model.spec.key} or "
                         f"{', '.join(entity_model.spec.fallbacks) or 'nothing else'})")
    threshold, rule = _entity_threshold(scores, quantile)
    entity_model.threshold = threshold
    return store.Artefact(kind=kind, schema=schema_of(kind), threshold=threshold, threshold_rule=rule,
                          training=window.as_dict(windows_scored=len(scores), entities=len(entity_model.entities)),
                          params={"entity": entity_model.to_json()})


def _keep_score(result: WindowResult, scores: list[float]) -> None:
    if result.baseline != "none":
        scores.append(result.score)


def _entity_threshold(scores: list[float], quantile: float) -> tuple[float, str]:
    if not scores:
        return ENTITY_MIN_THRESHOLD, f"no training window had a baseline yet: the prior {ENTITY_MIN_THRESHOLD}"
    value = max(_quantile(scores, quantile), ENTITY_MIN_THRESHOLD)
    return value, (f"quantile {quantile} of {len(scores)} training window scores (each against the baseline "
                   f"before it), at least {ENTITY_MIN_THRESHOLD}")


def _train_web(events: Iterable[Event], quantile: float, window: _Window) -> store.Artefact:
    model = WebModel()
    held: list[Request] = []
    skipped = 0
    for position, event in enumerate(events):
        request = request_of(event)
        if request is None:
            skipped += 1
            continue
        window.see(event)
        if is_holdout(event, position):
            held.append(request)
        else:
            model.learn(request)
    if not model.sites:
        raise ModelError("no web requests among the training events (no url.* or http.request.method)")
    threshold = _quantile([model.score(r)[0] for r in held], quantile)
    rule = f"quantile {quantile} of the scores of {len(held)} held-back training requests (1 in {HOLDOUT_MODULO})"
    return store.Artefact(kind="web", schema=WEB_SCHEMA, threshold=threshold, threshold_rule=rule,
                          training=window.as_dict(held_back=len(held), skipped=skipped), params=model.to_json())


def _train_network(events: Iterable[Event], quantile: float, window: _Window, features: list[dict[str, str]],
                   entity_model: EntityModel | None) -> store.Artefact:
    fit_rows: list[list[Any]] = []
    held_rows: list[list[Any]] = []
    entity_scores: list[float] = []
    for position, event in enumerate(events):
        window.see(event)
        row = TabularModel.raw_row(event, features)
        (held_rows if is_holdout(event, position) else fit_rows).append(row)
        if entity_model is not None:
            entity_model.observe(event, lambda r: _keep_score(r, entity_scores))
    model = TabularModel.fit(fit_rows, features)
    held_scores, _ = model.score_rows(held_rows)
    threshold = _quantile(held_scores.tolist(), quantile)
    rule = (f"quantile {quantile} of the scores of {len(held_rows)} held-back training events "
            f"(1 in {HOLDOUT_MODULO})")
    params: dict[str, Any] = {"tabular": model.to_json()}
    if entity_model is not None:
        entity_model.close_all(lambda r: _keep_score(r, entity_scores))
        entity_threshold, entity_rule = _entity_threshold(entity_scores, quantile)
        entity_model.threshold = entity_threshold
        params.update(entity=entity_model.to_json(), entity_threshold=entity_threshold,
                      entity_threshold_rule=entity_rule)
    schema = {"kind": "network", "version": 1, "features": features, "entity": schema_of("network")}
    return store.Artefact(kind="network", schema=schema, threshold=threshold, threshold_rule=rule,
                          training=window.as_dict(held_back=len(held_rows)), params=params, arrays=model.arrays)


# --- loaded models ----------------------------------------------------------------------


class Model:
    """A loaded artefact with what scores events: a per-event model, an entity model, or both."""

    def __init__(self, art: store.Artefact) -> None:
        self.artefact = art
        self.kind = art.kind
        self.model_id = art.model_id
        self.threshold = art.threshold
        self.web: WebModel | None = None
        self.tabular: TabularModel | None = None
        self.entity: EntityModel | None = None
        if art.kind == "web":
            self.web = WebModel.from_json(art.params)
        elif art.kind == "network":
            self.tabular = TabularModel.from_parts(art.params["tabular"], art.arrays)
            if "entity" in art.params:
                self.entity = EntityModel.from_json("network", art.params["entity"], art.params["entity_threshold"])
        else:
            self.entity = EntityModel.from_json(art.kind, art.params["entity"], art.threshold)

    @property
    def entity_threshold(self) -> float:
        return self.entity.threshold if self.entity is not None else math.inf

    def applies(self, event: Event) -> bool:
        """Whether the per-event model can score this event."""
        if self.web is not None:
            return request_of(event) is not None
        if self.tabular is not None:
            return any(get_field(event, f["field"]) is not None for f in self.tabular.features)
        return False

    def score_events(self, events: Sequence[Event]) -> list[Scored | None]:
        """Per-event scores (None where the per-event model does not apply)."""
        out: list[Scored | None] = [None] * len(events)
        if self.web is not None:
            for i, event in enumerate(events):
                request = request_of(event)
                if request is not None:
                    score, reasons = self.web.score(request)
                    out[i] = Scored(score, self.threshold, top(reasons))
        elif self.tabular is not None:
            positions = [i for i, e in enumerate(events) if self.applies(e)]
            rows = [TabularModel.raw_row(events[i], self.tabular.features) for i in positions]
            if rows:
                scores, standardised = self.tabular.score_rows(rows)
                for k, i in enumerate(positions):
                    out[i] = Scored(float(scores[k]), self.threshold, self.tabular.reasons(rows[k], standardised[k]))
        return out


def load_model(directory: str) -> Model:
    """Load a model directory, refusing another format, schema or library line."""
    art = store.load(directory)
    if art.kind not in KINDS:
        raise ModelError(f"{directory}: unknown model kind {art.kind!r}")
    expected: dict[str, Any]
    if art.kind == "web":
        expected = WEB_SCHEMA
    elif art.kind == "network":
        expected = {"kind": "network", "version": 1, "features": art.schema.get("features"),
                    "entity": schema_of("network")}
    else:
        expected = schema_of(art.kind)
    if store.schema_hash(expected) != store.schema_hash(art.schema):
        raise ModelError(f"{directory}: feature schema of this {art.kind} model differs from this code's; retrain it")
    try:
        return Model(art)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{directory}: model parameters do not fit the {art.kind} model ({exc!r}); retrain it") \
            from None
