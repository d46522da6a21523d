"""``soc status``: a summary of a running service's counters.

Reads the Prometheus text either from the service's API (``--api URL``) or from the
``metrics.prom`` file it rewrites every few seconds in its data directory.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import httpx

from ingest.metrics import Labels, parse_text
from ingest.service import METRICS_FILE

TIMEOUT_SECS = 5.0


def _by(values: dict[Labels, float], label: str) -> dict[str, dict[str, float]]:
    """Regroup samples by one label: {label value: {other labels text: value}}."""
    out: dict[str, dict[str, float]] = {}
    for labels, value in values.items():
        d = dict(labels)
        key = d.pop(label, "")
        out.setdefault(key, {})[",".join(f"{k}={v}" for k, v in sorted(d.items()))] = value
    return out


def summarise(text: str) -> list[str]:
    """Human lines from the metrics text."""
    metrics = parse_text(text)
    lines: list[str] = []
    depth = metrics.get("soc_queue_depth", {}).get((), 0.0)
    lag = metrics.get("soc_queue_lag_seconds", {}).get((), 0.0)
    lines.append(f"queue: depth={int(depth)} lag={lag:.1f}s")
    receivers = sorted({dict(lbl).get("receiver", "") for name, vals in metrics.items()
                        if name.startswith("soc_receiver_") for lbl in vals})
    for receiver in receivers:
        def total(name: str, r: str = receiver) -> int:
            return int(sum(v for lbl, v in metrics.get(name, {}).items() if dict(lbl).get("receiver") == r))
        lines.append(
            f"receiver {receiver}: received={total('soc_receiver_received_total')} "
            f"queued={total('soc_receiver_queued_total')} dropped={total('soc_receiver_dropped_total')} "
            f"errors={total('soc_receiver_errors_total')} backpressure={total('soc_receiver_backpressure_total')}"
        )
    stages = {dict(lbl).get("outcome", ""): int(v) for lbl, v in metrics.get("soc_pipeline_events_total", {}).items()}
    if stages:
        lines.append("pipeline: " + " ".join(f"{k}={stages[k]}" for k in sorted(stages)))
    for parser, outcomes in sorted(_by(metrics.get("soc_parser_events_total", {}), "parser").items()):
        counts = " ".join(f"{k.split('=')[1]}={int(v)}" for k, v in sorted(outcomes.items()))
        lines.append(f"parser {parser}: {counts}")
    errors = int(sum(metrics.get("soc_worker_store_errors_total", {}).values()))
    bugs = int(sum(metrics.get("soc_worker_bugs_total", {}).values()))
    background = int(sum(metrics.get("soc_background_errors_total", {}).values()))
    lines.append(f"worker: store_errors={errors} bugs={bugs} background_errors={background}")
    health = metrics.get("soc_health_degraded", {})
    if health.get((), 0.0):
        lines.append("health: suy giảm / degraded")
        lines.extend(f"  {dict(labels)['reason']}" for labels in sorted(health) if labels)
    return lines


@click.command("status")
@click.option("--api", "api_url", help="Base URL of the service API (soc run --api), e.g. http://127.0.0.1:8080.")
@click.option("--data-dir", type=click.Path(file_okay=False), default="soc-data", show_default=True,
              help="Data directory of the service (used when --api is not given).")
@click.option("--raw", is_flag=True, help="Print the Prometheus text as it is.")
def command(api_url: str | None, data_dir: str, raw: bool) -> None:
    """Show the counters of a running service."""
    if api_url:
        try:
            response = httpx.get(api_url.rstrip("/") + "/metrics", timeout=TIMEOUT_SECS)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot read {api_url}/metrics: {exc}") from None
        text = response.text
        origin = api_url
    else:
        path = Path(data_dir) / METRICS_FILE
        if not path.exists():
            raise click.ClickException(f"no {path}: is soc run using --data-dir {data_dir}?")
        text = path.read_text(encoding="utf-8")
        age = time.time() - path.stat().st_mtime
        origin = f"{path} (written {age:.0f}s ago{'; the service may be stopped' if age > 30 else ''})"
    if raw:
        click.echo(text, nl=False)
        return
    click.echo(f"from {origin}")
    for line in summarise(text):
        click.echo(line)
