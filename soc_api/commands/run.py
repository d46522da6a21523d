"""``soc run``: the service — receivers, durable queue, pipeline worker, store, API.

Every input option may be repeated and takes ``HOST:PORT[=PARSER]`` (``=PARSER`` picks
the parser for that port, e.g. a FortiGate on one port and a pfSense on another);
``--tail`` takes ``GLOB[=PARSER]``. A source that does not send UTF-8 (legacy Vietnamese
TCVN3/ABC, VNI, VISCII) gets ``@ENCODING`` after it (``127.0.0.1:5514=system.auth@tcvn3``),
or ``--encoding`` for every receiver; the exact bytes are kept in ``event.original_base64``.
Port 0 binds a free port; the bound ports are printed
on stdout as one JSON line ``{"ready": true, "listening": {...}}`` once everything
listens, which is when senders may start.

Incidents the pipeline opens or changes plan their playbooks' actions into the durable
action queue in the store; a background runner of this process executes them (or, with
``--broker``, sends them to ``soc worker`` processes through Celery) and reverts expired
blocks, so a restart loses no pending or expiring action. Its failures show on ``/health``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import signal
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Any

import click

from ingest.logfilter import rate_limit_logging
from ingest.metrics import Metrics
from ingest.pipeline import count_dead_letters
from ingest.queue import DurableQueue
from ingest.receivers.file_tail import FileTailReceiver
from ingest.receivers.http import HttpReceiver
from ingest.receivers.syslog_tcp import SyslogTcpReceiver
from ingest.receivers.syslog_tls import SyslogTlsReceiver
from ingest.receivers.syslog_udp import SyslogUdpReceiver
from ingest.service import Service, ServiceOptions
from soc_api.commands._common import (
    build_detectors,
    encoding_option,
    make_parser,
    no_builtin_rules_option,
    parse_tz,
    parser_option,
    rules_option,
    tz_option,
)
from soc_api.commands._incidents import build_alert_stage, incident_config_option, load_incident_config
from soc_api.commands._response import response_config, runner_config, start_action_runner
from soc_api.commands._retrain import start_retrainer
from soc_core.clock import SystemClock
from soc_core.contracts import Detector, Receiver, Store
from soc_core.errors import SocError
from soc_core.legacy_encodings import canonical
from soc_store import open_store

log = logging.getLogger("soc.run")


def split_address(text: str) -> tuple[str, int, str | None]:
    """``HOST:PORT[=PARSER]`` -> (host, port, parser); ``:PORT`` means every interface."""
    address, _, parser = text.partition("=")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(f"{text!r}: expected HOST:PORT[=PARSER]")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - ":PORT" asks for every interface
    return host, int(port), parser or None


def split_encoding(spec: str, default: str | None = None, *, glob: bool = False) -> tuple[str, str | None]:
    """``SPEC[@ENCODING]`` -> (``SPEC``, the encoding's canonical name, or ``default``).

    A receiver whose senders do not write UTF-8 (legacy Vietnamese TCVN3/ABC, VNI, VISCII
    from older Windows applications) names its encoding after ``@``. In a file glob an
    ``@`` that is not followed by a known encoding belongs to the file name."""
    head, sep, name = spec.rpartition("@")
    if not sep:
        return spec, default
    try:
        return head, canonical(name)
    except ValueError as exc:
        if glob:
            return spec, default
        raise click.BadParameter(f"{spec!r}: {exc}") from None


def _addresses(values: tuple[str, ...], encoding: str | None = None) -> list[tuple[str, int, str | None, str | None]]:
    """``HOST:PORT[=PARSER][@ENCODING]`` specs -> (host, port, parser, encoding)."""
    out = []
    for value in values:
        address, chosen = split_encoding(value, encoding)
        out.append((*split_address(address), chosen))
    return out


def _tails(opts: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """``GLOB[=PARSER][@ENCODING]`` specs -> (glob, parser, encoding)."""
    out = []
    for spec in opts["tail"]:
        rest, encoding = split_encoding(spec, opts["encoding"], glob=True)
        pattern, _, parser = rest.partition("=")
        out.append((pattern, parser or None, encoding))
    return out


def _parser_names(opts: dict[str, Any]) -> set[str]:
    names = {p for key in ("syslog_udp", "syslog_tcp", "syslog_tls", "http")
             for _, _, p, _ in _addresses(opts[key]) if p}
    return names | {parser for _, parser, _ in _tails(opts) if parser}


def connection_caps(opts: dict[str, Any]) -> tuple[int, int]:
    """(per receiver, per client address) connection caps: the options, or a share of
    the process's descriptor limit (every stream receiver and the API get one, with
    room left for the queue, the store and the files)."""
    listeners = len(opts["syslog_tcp"]) + len(opts["syslog_tls"]) + len(opts["http"]) + 1
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    available = soft if soft != resource.RLIM_INFINITY else 1 << 16
    per_receiver: int = opts["max_connections"] or max(16, min(4096, available // (2 * listeners)))
    per_address: int = opts["max_connections_per_address"] or max(4, per_receiver // 4)
    return per_receiver, per_address


def build_receivers(opts: dict[str, Any], metrics: Metrics) -> list[Receiver]:
    """The receivers the options ask for."""
    clock = SystemClock()
    tz = parse_tz(opts["tz_name"])
    receivers: list[Receiver] = []
    caps, per_address = connection_caps(opts)
    stream_limits: dict[str, Any] = {"max_connections": caps, "max_connections_per_address": per_address,
                                     "idle_timeout_secs": opts["idle_timeout_secs"]}
    default_encoding = opts["encoding"]
    for host, port, parser, encoding in _addresses(opts["syslog_udp"], default_encoding):
        receivers.append(SyslogUdpReceiver(host, port, parser, encoding, metrics=metrics, clock=clock))
    for host, port, parser, encoding in _addresses(opts["syslog_tcp"], default_encoding):
        receivers.append(SyslogTcpReceiver(host, port, parser, encoding, metrics=metrics, clock=clock,
                                           **stream_limits))
    tls = _addresses(opts["syslog_tls"], default_encoding)
    if tls and not (opts["tls_cert"] and opts["tls_key"]):
        raise click.UsageError("--syslog-tls needs --tls-cert and --tls-key")
    for host, port, parser, encoding in tls:
        receivers.append(SyslogTlsReceiver(host, port, opts["tls_cert"], opts["tls_key"], opts["tls_client_ca"],
                                           parser=parser, encoding=encoding, metrics=metrics, clock=clock,
                                           **stream_limits))
    keys = list(opts["api_key"])
    for host, port, parser, encoding in _addresses(opts["http"], default_encoding):
        # The answer says how many entries will be dead letters: the same parser, run once more.
        checker = make_parser(parser or opts["parser_name"], tz, clock)
        receivers.append(HttpReceiver(host, port, keys, parser, encoding, metrics=metrics, clock=clock,
                                      max_body_bytes=opts["http_max_body_bytes"],
                                      max_entries=opts["http_max_entries"],
                                      max_connections=caps, max_connections_per_address=per_address,
                                      dead_letter_count=partial(count_dead_letters, checker)))
    for pattern, parser, encoding in _tails(opts):
        receivers.append(FileTailReceiver([pattern], parser, encoding, metrics=metrics, clock=clock))
    return receivers


@click.command("run")
@click.option("--syslog-udp", multiple=True, metavar="HOST:PORT[=PARSER][@ENCODING]",
              help="Syslog over UDP (may lose data).")
@click.option("--syslog-tcp", multiple=True, metavar="HOST:PORT[=PARSER][@ENCODING]",
              help="Syslog over TCP.")
@click.option("--syslog-tls", multiple=True, metavar="HOST:PORT[=PARSER][@ENCODING]",
              help="Syslog over TLS (RFC 5425).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="Server certificate (PEM).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="Server private key (PEM).")
@click.option("--tls-client-ca", type=click.Path(exists=True, dir_okay=False),
              help="Require client certificates signed by this CA (PEM).")
@click.option("--http", multiple=True, metavar="HOST:PORT[=PARSER][@ENCODING]", help="HTTP POST /ingest (NDJSON/JSON).")
@click.option("--api-key", multiple=True, envvar=["SOC_API_KEYS", "SOC_API_KEY"],
              help="API key accepted by --http and the API search (or SOC_API_KEYS, space-separated; "
                   "SOC_API_KEY is read too).")
@click.option("--http-max-body-bytes", type=int, default=10 << 20, show_default=True)
@click.option("--http-max-entries", type=int, default=100_000, show_default=True,
              help="Most NDJSON lines in one HTTP request (more: 413).")
@click.option("--max-connections", type=int,
              help="Connections per TCP/TLS/HTTP receiver (default: a share of the descriptor limit).")
@click.option("--max-connections-per-address", type=int,
              help="Connections per client address and receiver (default: a quarter of --max-connections).")
@click.option("--idle-timeout-secs", type=float, default=600.0, show_default=True,
              help="Reset a TCP/TLS connection silent this long.")
@click.option("--tail", multiple=True, metavar="GLOB[=PARSER][@ENCODING]", help="Follow files (rotation-safe).")
@click.option("--store", "store_url", help="Store URL (default: sqlite:///DATA_DIR/store.db).")
@click.option("--data-dir", type=click.Path(file_okay=False), default="soc-data", show_default=True,
              help="Queue, checkpoints and metrics live here.")
@click.option("--queue-max-events", type=int, default=1_000_000, show_default=True,
              help="Back-pressure threshold of the durable queue.")
@click.option("--queue-max-bytes", type=int, default=1 << 30, show_default=True,
              help="Back-pressure threshold of the durable queue in raw bytes.")
@click.option("--queue-sync", type=click.Choice(["normal", "full"]), default="normal", show_default=True,
              help="normal: survives a process crash; full: also a power loss (slower).")
@click.option("--batch-size", type=int, default=2000, show_default=True, help="Events per store write.")
@click.option("--retention-days", type=int, help="Delete stored events older than this (checked hourly).")
@click.option("--api", "api_address", metavar="HOST:PORT", help="Serve health, metrics and the API (/api/v1) here.")
@click.option("--api-secret", envvar="SOC_API_SECRET",
              help="Secret signing API tokens, 32+ bytes (env SOC_API_SECRET; default: generated, kept in the store).")
@click.option("--api-tls-cert", type=click.Path(exists=True, dir_okay=False), help="Serve the API over HTTPS (PEM).")
@click.option("--api-tls-key", type=click.Path(exists=True, dir_okay=False), help="Private key of --api-tls-cert.")
@click.option("--api-cors-origin", multiple=True,
              help="Origin allowed to call the API from a browser (none by default).")
@click.option("--api-max-body-bytes", type=int, default=1 << 20, show_default=True, help="Largest API request body.")
@click.option("--response-config", type=click.Path(exists=True, dir_okay=False),
              help="YAML response settings (safeguards, responders, playbooks) for the action runner and API "
                   "decisions; default: the [response] table of --config.")
@click.option("--dev", is_flag=True, help="Development mode: tokens signed with a fixed, public secret.")
@click.option("--anomaly-model", "anomaly_models", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Score events with this model directory (soc anomaly train; repeatable).")
@click.option("--anomaly-retrain-secs", type=int, default=0, show_default=True,
              help="Retrain each --anomaly-model every N seconds on the stored events of the last "
                   "--anomaly-history-secs, and swap it in (0: never).")
@click.option("--anomaly-history-secs", type=int, default=7 * 86_400, show_default=True,
              help="How far back the scheduled retraining reads stored events.")
@parser_option
@tz_option
@encoding_option
@rules_option
@no_builtin_rules_option
@incident_config_option
@click.option("--broker", metavar="URL",
              help="Send response actions to Celery workers (soc worker) through this broker, e.g. "
                   "redis://127.0.0.1:6379/0; without it they run in this process from the durable queue.")
@click.option("--action-sweep-secs", type=float, default=2.0, show_default=True,
              help="Seconds between sweeps of the action queue (run, release, time out, revert expired blocks).")
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def command(**opts: Any) -> None:
    """Run the service until SIGTERM or SIGINT (graceful stop)."""
    logging.basicConfig(level=logging.INFO if opts["verbose"] else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rate_limit_logging()  # a flood of one error (bad requests, accept errors) stays a few lines
    data_dir = Path(opts["data_dir"])
    _check_writable_dir(data_dir)
    store_url: str = opts["store_url"] or f"sqlite:///{(data_dir / 'store.db').resolve()}"
    tz = parse_tz(opts["tz_name"])
    clock = SystemClock()
    metrics = Metrics()
    try:
        receivers = build_receivers(opts, metrics)
        # Fail now, not at the first event, on an unknown parser name.
        for name in {opts["parser_name"], *_parser_names(opts)}:
            make_parser(name, tz, clock)
        detectors = build_detectors(opts["rule_paths"], clock, builtin=not opts["no_builtin_rules"])
        load_incident_config(opts["incident_config"])  # a bad file fails now, not in the worker
        if opts["broker"] and not opts["broker"].startswith(("redis://", "rediss://")):
            raise click.UsageError(f"--broker {opts['broker']!r}: expected redis://HOST:PORT/N")
    except SocError as exc:
        raise click.UsageError(str(exc)) from None
    if not receivers:
        raise click.UsageError("nothing to receive: give --syslog-udp/--syslog-tcp/--syslog-tls/--http/--tail")
    detectors += anomaly_detectors(opts["anomaly_models"], clock)  # after the Sigma ones
    response = response_config(opts["response_config"])

    def store_factory() -> Store:
        if store_url.startswith(("http://", "https://")):
            # The service does not need read-your-writes; the server's refresh interval
            # (1 s by default) makes events searchable.
            return open_store(store_url, refresh=False)
        return open_store(store_url)

    detectors += intel_detectors(store_factory, clock)

    try:
        queue = DurableQueue(data_dir / "queue.db", max_events=opts["queue_max_events"], sync=opts["queue_sync"],
                             max_bytes=opts["queue_max_bytes"])
    except SocError as exc:  # a damaged queue file: named, with the way out
        raise click.ClickException(str(exc)) from None
    service = Service(
        receivers, queue, store_factory, lambda name: make_parser(name, tz, clock),
        default_parser=opts["parser_name"], detectors=detectors, data_dir=data_dir, metrics=metrics, clock=clock,
        options=ServiceOptions(batch_size=opts["batch_size"], retention_days=opts["retention_days"]),
        alert_stage_factory=lambda store: build_alert_stage(store, clock, opts["incident_config"], response),
    )
    # Planned actions run here (or go to Celery with --broker): the incident stage only plans.
    runner_stop = threading.Event()
    runner = start_action_runner(store_factory, runner_config(response), opts["broker"], service.health,
                                 runner_stop, opts["action_sweep_secs"])
    start_retrainer(store_factory, detectors, opts["anomaly_models"], clock, opts["anomaly_retrain_secs"],
                    opts["anomaly_history_secs"], service.health, runner_stop)
    try:
        asyncio.run(_serve(service, opts, store_factory))
    except SocError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        runner_stop.set()
        runner.join(timeout=opts["action_sweep_secs"] + 30)


def _check_writable_dir(path: Path) -> None:
    """Create the data directory, or fail in one line saying which path and why."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(
            f"cannot create the data directory {exc.filename or path}: {exc.strerror or exc} "
            "(choose a writable --data-dir)"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise click.ClickException(
            f"the data directory {path} is not writable by this user (choose a writable --data-dir)"
        )


def anomaly_detectors(model_dirs: tuple[str, ...], clock: SystemClock) -> list[Detector]:
    """The anomaly detector over the given model directories (none without any)."""
    if not model_dirs:
        return []
    from correlation.anomaly.detector import AnomalyDetector
    from correlation.anomaly.models import load_model

    try:
        return [AnomalyDetector([load_model(d) for d in model_dirs], clock=clock)]
    except SocError as exc:
        raise click.UsageError(str(exc)) from None


def intel_detectors(store_factory: Any, clock: SystemClock) -> list[Detector]:
    """Indicator matching over the store's active indicators at start-up (none without any);
    sightings are recorded on the indicators at each detector flush."""
    from intel.detector import detector_for
    from intel.repository import IndicatorRepository

    def record(sightings: dict[str, tuple[int, str, str]]) -> None:
        store = store_factory()
        try:
            IndicatorRepository(store, clock).record_sightings(sightings)
        finally:
            store.close()

    try:
        store = store_factory()
    except SocError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        detector = detector_for(store, clock, on_sightings=record)
    finally:
        store.close()
    return [detector] if detector else []


async def _serve(service: Service, opts: dict[str, Any], store_factory: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    listening: dict[str, Any] = {r.name: getattr(r, "bound_port", None) for r in service.receivers}
    api_task: asyncio.Task[None] | None = None
    api_server: Any = None
    if opts["api_address"]:
        from soc_api.app import ApiSettings, serve_api

        host, port, _ = split_address(opts["api_address"])
        settings = ApiSettings(secret=opts["api_secret"], dev=opts["dev"], cors_origins=list(opts["api_cors_origin"]),
                               max_body_bytes=opts["api_max_body_bytes"], response_config=opts["response_config"])
        try:
            api_server, bound, api_task = await serve_api(service, host, port, list(opts["api_key"]), store_factory,
                                                          settings, opts["api_tls_cert"], opts["api_tls_key"])
        except SocError:
            await service.stop()  # the receivers already listen: stop them before saying why
            raise
        listening["api"] = bound
    click.echo(json.dumps({"ready": True, "pid": os.getpid(), "listening": listening}))
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        if api_server is not None:
            api_server.should_exit = True
        if api_task is not None:
            await asyncio.wait([api_task], timeout=10)
        await service.stop()
