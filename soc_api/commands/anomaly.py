"""``soc anomaly train|score|explain``: anomaly models from normal traffic, scores, explanations.

* ``train --kind web|network|auth|host --out MODEL_DIR FILE...`` fits a model on normal
  traffic (thresholds and every parameter from those files only) and saves it;
* ``score --model MODEL_DIR FILE...`` prints one NDJSON line per input event with
  ``event.id``, ``log.offset``, ``anomaly.score`` (higher is more anomalous),
  ``anomaly.threshold``, ``anomaly.is_anomaly`` and ``anomaly.reasons``;
* ``explain --model MODEL_DIR EVENT_ID`` explains a stored anomaly alert (or scores and
  explains a stored event) in Vietnamese and English.

Files are parsed with ``--parser`` (``http.raw`` for raw HTTP request streams), or read as
NDJSON ECS events (the output of ``soc parse``) with ``--ecs``. Raw events carry the
file's modification time as their receipt time, so training the same files twice gives
the same model.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import click
import orjson

from correlation.anomaly.artefact import save
from correlation.anomaly.entity import WindowResult
from correlation.anomaly.explain import render
from correlation.anomaly.models import KINDS, EntityOptions, Model, Scored, load_model, train
from correlation.anomaly.tabular import parse_features
from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_stream
from soc_api.commands._common import make_parser, open_store_or_fail, parse_tz, parser_option, tz_option
from soc_core.errors import ModelError, RegistryError
from soc_core.event import KIND_PIPELINE_ERROR, Event, get_field

SCORE_BATCH = 4096


def read_events(files: tuple[str, ...], parser_name: str, tz_name: str, ecs: bool) -> Iterator[Event]:
    """The events of ``files``: NDJSON ECS with ``ecs``, else parsed by ``parser_name``."""
    if ecs:
        for path in files:
            with open(path, "rb") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        event = orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise click.ClickException(f"{path}:{number}: not a JSON event ({exc})") from None
                    if not isinstance(event, dict):
                        raise click.ClickException(f"{path}:{number}: a JSON value that is not an object")
                    yield event
        return
    try:
        parser = make_parser(parser_name, parse_tz(tz_name))
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from None
    stats, bugs = Stats(), BugLogger()
    for path in files:
        received = datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
        yield from parse_stream(parser, read_file_events(path, parser, received), stats, bugs)


ecs_option = click.option("--ecs", is_flag=True, help="FILEs hold NDJSON ECS events (soc parse output).")
files_argument = click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))


@click.group("anomaly")
def command() -> None:
    """Anomaly models: train on normal traffic, score events, explain alerts."""


@command.command("train")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the model learns.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@parser_option
@tz_option
@ecs_option
@click.option("--quantile", type=float, default=0.99, show_default=True,
              help="Threshold: this quantile of held-back training scores.")
@click.option("--features", "feature_spec", help="network: FIELD[:num|cat],... (default: ECS connection fields).")
@click.option("--window-secs", type=int, default=300, show_default=True, help="Entity window length.")
@click.option("--min-history", type=int, default=6, show_default=True,
              help="Windows of its own before an entity is compared with itself rather than its peers.")
@files_argument
def train_command(kind: str, out_dir: str, parser_name: str, tz_name: str, ecs: bool, quantile: float,
                  feature_spec: str | None, window_secs: int, min_history: int, files: tuple[str, ...]) -> None:
    """Train a KIND model on FILES of normal traffic and save it in --out."""
    events = (e for e in read_events(files, parser_name, tz_name, ecs)
              if get_field(e, "event.kind") != KIND_PIPELINE_ERROR)
    try:
        features = parse_features(feature_spec) if feature_spec else None
        art = train(kind, events, quantile=quantile, features=features,
                    entity=EntityOptions(window_secs=window_secs, min_history=min_history))
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    save(art, out_dir)
    window = art.training
    click.echo(f"Đã huấn luyện mô hình / trained model {art.model_id} ({kind}): {window['events']} sự kiện / events, "
               f"{window.get('first')} → {window.get('last')}", err=True)
    click.echo(f"Ngưỡng / threshold {art.threshold:.6g}: {art.threshold_rule}", err=True)
    click.echo(orjson.dumps({"model_id": art.model_id, "kind": kind, "threshold": art.threshold,
                             "training": window, "out": out_dir}).decode())


def _load(model_dir: str) -> Model:
    try:
        return load_model(model_dir)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None


def _line(event: Event, scored: Scored | None) -> bytes:
    out: dict[str, Any] = {"event.id": get_field(event, "event.id"), "log.offset": get_field(event, "log.offset")}
    if scored is None:
        out.update({"anomaly.score": None, "anomaly.threshold": None, "anomaly.is_anomaly": None,
                    "anomaly.reasons": []})
        if get_field(event, "event.kind") == KIND_PIPELINE_ERROR:
            out["error.message"] = get_field(event, "error.message")
    else:
        out.update({"anomaly.score": round(scored.score, 6), "anomaly.threshold": round(scored.threshold, 6),
                    "anomaly.is_anomaly": scored.is_anomaly,
                    "anomaly.reasons": [r.as_dict() for r in scored.reasons]})
    return orjson.dumps(out)


@command.command("score")
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False))
@parser_option
@tz_option
@ecs_option
@files_argument
def score_command(model_dir: str, parser_name: str, tz_name: str, ecs: bool, files: tuple[str, ...]) -> None:
    """Score FILES: one NDJSON line per input event, in input order."""
    model = _load(model_dir)
    out = sys.stdout.buffer
    events = read_events(files, parser_name, tz_name, ecs)
    if model.entity is not None and model.web is None and model.tabular is None:
        _score_windows(model, events, out)
        return
    batch: list[Event] = []
    for event in events:
        batch.append(event)
        if len(batch) >= SCORE_BATCH:
            _write_scores(model, batch, out)
            batch = []
    _write_scores(model, batch, out)
    out.flush()


def _write_scores(model: Model, batch: list[Event], out: Any) -> None:
    scorable = [e if get_field(e, "event.kind") != KIND_PIPELINE_ERROR else {} for e in batch]
    for event, scored in zip(batch, model.score_events(scorable), strict=True):
        out.write(_line(event, scored) + b"\n")


def _score_windows(model: Model, events: Iterator[Event], out: Any) -> None:
    """Entity models score windows: each event gets the score of the window that held it."""
    entity = model.entity
    assert entity is not None
    results: dict[tuple[str, int], WindowResult] = {}
    placed: list[tuple[Event, tuple[str, int] | None]] = []

    def keep(result: WindowResult) -> None:
        results[(result.entity, result.start_us)] = result

    for event in events:
        slot = entity.observe(event, keep) if get_field(event, "event.kind") != KIND_PIPELINE_ERROR else None
        placed.append(({"event": event.get("event"), "log": event.get("log"), "error": event.get("error")}, slot))
    entity.close_all(keep)
    for event, slot in placed:
        result = results.get(slot) if slot is not None else None
        scored = Scored(result.score, entity.threshold, result.reasons) if result is not None else None
        out.write(_line(event, scored) + b"\n")
    out.flush()


@command.command("explain")
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--store", "store_url", required=True, envvar="SOC_STORE", help="Store URL (env SOC_STORE).")
@click.argument("event_id")
def explain_command(model_dir: str, store_url: str, event_id: str) -> None:
    """Explain the stored anomaly alert EVENT_ID (or score and explain a stored event)."""
    model = _load(model_dir)
    store = open_store_or_fail(store_url)
    try:
        document = store.get("alerts", event_id) or store.get("events", event_id)
    finally:
        store.close()
    if document is None:
        raise click.ClickException(f"no alert or event with id {event_id} in {store_url}")
    anomaly = document.get("anomaly")
    if not isinstance(anomaly, dict):
        scored = model.score_events([document])[0]
        if scored is None:
            raise click.ClickException(f"model {model.model_id} ({model.kind}) cannot score event {event_id}")
        anomaly = {"score": scored.score, "threshold": scored.threshold, "is_anomaly": scored.is_anomaly,
                   "model": {"id": model.model_id}, "reasons": [r.as_dict() for r in scored.reasons]}
    elif anomaly.get("model", {}).get("id") != model.model_id:
        click.echo(f"Chú ý / note: alert made by model {anomaly.get('model', {}).get('id')}, "
                   f"not {model.model_id}", err=True)
    verdict = ("BẤT THƯỜNG / ANOMALOUS" if anomaly.get("is_anomaly") else "bình thường / normal")
    click.echo(f"{event_id}: {verdict} — điểm / score {anomaly.get('score'):.4g}, "
               f"ngưỡng / threshold {anomaly.get('threshold'):.4g} (model {anomaly.get('model', {}).get('id')})")
    entity = anomaly.get("entity")
    if isinstance(entity, dict):
        click.echo(f"  thực thể / entity: {entity.get('type')} {entity.get('id')} "
                   f"(mức nền / baseline: {entity.get('baseline')})")
    reasons = anomaly.get("reasons") or []
    if not reasons:
        click.echo("  Không có đặc trưng nào bất thường / no feature was unusual")
    for reason in reasons:
        click.echo(f"  - {render(reason, 'vi')}")
        click.echo(f"    {render(reason, 'en')}")
