"""The running service: receivers -> durable queue -> pipeline worker -> store.

Receivers run as asyncio tasks on one event loop and hand batches to the
:class:`~ingest.queue.DurableQueue`. One worker thread reads the queue in order, parses
(each event with the parser its input is configured for), detects, writes to the store,
and only then acknowledges the batch: a crash at any point redelivers at most the batch
in flight, which the store deduplicates by ``event.id``.

Graceful stop (SIGTERM/SIGINT or :meth:`Service.stop`): receivers stop accepting and
finish the batch they are queueing; the worker finishes and acknowledges its batch and
stops; what is still queued stays on disk for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ingest.datadir import DataDirLock
from ingest.health import ServiceHealth
from ingest.metrics import Labels, Metrics
from ingest.pipeline import BugLogger, Pipeline
from ingest.queue import DurableQueue
from parsers.base import LINE_FRAMER
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import AlertStage, BatchParser, Detector, Framer, Parser, Receiver, Store
from soc_core.errors import ParseError, RegistryError, StoreError
from soc_core.event import Event, RawEvent, pipeline_error
from soc_core.legacy_encodings import as_configured

log = logging.getLogger(__name__)

ParserFactory = Callable[[str], Parser]
StoreFactory = Callable[[], Store]

METRICS_FILE = "metrics.prom"
_IDLE_WAIT_SECS = 0.05
_STORE_BACKOFF_MAX_SECS = 30.0


class ParserRouter:
    """A Parser that hands each raw event to the parser its receiver was configured
    with (``RawEvent.extra["parser"]``), or to the default one."""

    id = "router"
    framer: Framer = LINE_FRAMER

    def __init__(self, factory: ParserFactory, default: str) -> None:
        self._factory = factory
        self._default = default
        self._parsers: dict[str, Parser] = {}

    def parser(self, name: str) -> Parser:
        """The parser called ``name``, built once."""
        found = self._parsers.get(name)
        if found is None:
            found = self._parsers[name] = self._factory(name)
        return found

    def accepts(self, raw: RawEvent) -> bool:
        return True

    def parse(self, raw: RawEvent) -> Event:
        raw = as_configured(raw)
        name = str(raw.extra.get("parser") or self._default)
        try:
            parser = self.parser(name)
        except RegistryError as exc:
            # Configuration changed between runs and the queued event names a parser
            # that no longer exists: a dead letter, not a crash.
            raise ParseError(name, f"unknown parser: {exc}") from exc
        return parser.parse(raw)

    def parse_batch(self, raws: Sequence[RawEvent], finish: Callable[[Event], Any] | None = None) -> list[Any]:
        """Each event to its receiver's parser; a batch parser (``auto``) gets all of
        its events at once (see :class:`soc_core.contracts.BatchParser`)."""
        # Sources configured with a legacy encoding are decoded here, in the worker.
        raws = [as_configured(raw) for raw in raws]
        by_name: dict[str, list[int]] = {}
        for index, raw in enumerate(raws):
            by_name.setdefault(str(raw.extra.get("parser") or self._default), []).append(index)
        outcomes: list[Any] = [ParseError(self.id, "not parsed")] * len(raws)
        for name, indices in by_name.items():
            try:
                parser = self.parser(name)
            except RegistryError as exc:
                for index in indices:
                    outcomes[index] = ParseError(name, f"unknown parser: {exc}")
                continue
            if isinstance(parser, BatchParser):
                batch = parser.parse_batch([raws[i] for i in indices], finish)
                for index, outcome in zip(indices, batch, strict=True):
                    outcomes[index] = outcome
                continue
            for index in indices:
                try:
                    event = parser.parse(raws[index])
                    outcomes[index] = event if finish is None else finish(event)
                except Exception as exc:  # handed back: the pipeline logs parser bugs
                    outcomes[index] = exc
        return outcomes


@dataclass
class ServiceOptions:
    """Tuning of the worker; option names carry their units."""

    batch_size: int = 2000
    metrics_interval_secs: float = 2.0
    detector_flush_interval_secs: float = 5.0
    retention_days: int | None = None
    retention_check_interval_secs: float = 3600.0
    stop_grace_secs: float = 10.0
    # A batch the store refused this many times in a row (StoreError) is split until the
    # refused documents stand alone and become dead letters (see Pipeline.write).
    store_attempts_before_isolating: int = 5
    # /health reports the queue stuck when events wait and nothing was stored for this long.
    stuck_after_secs: float = 120.0


class Service:
    """Owns the receivers, the queue and the worker; see the module docstring."""

    def __init__(
        self,
        receivers: Sequence[Receiver],
        queue: DurableQueue,
        store_factory: StoreFactory,
        parser_factory: ParserFactory,
        default_parser: str = "auto",
        detectors: Sequence[Detector] = (),
        data_dir: str | Path | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        options: ServiceOptions | None = None,
        alert_stage_factory: Callable[[Store], AlertStage] | None = None,
    ) -> None:
        self.receivers = list(receivers)
        # Built in the worker thread, over the store opened there (see _work).
        self.alert_stage_factory = alert_stage_factory
        self.queue = queue
        self.store_factory = store_factory
        self.router = ParserRouter(parser_factory, default_parser)
        self.detectors = list(detectors)
        self.data_dir = Path(data_dir) if data_dir else None
        self._data_lock = DataDirLock(self.data_dir) if self.data_dir else None
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        self.options = options or ServiceOptions()
        self.pipeline: Pipeline | None = None
        self.store: Store | None = None
        self._worker_stop = threading.Event()
        self._worker_ready = threading.Event()
        self._worker: threading.Thread | None = None
        self._worker_error: BaseException | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()
        self._bugs = BugLogger()
        self.health = ServiceHealth(self.options.stuck_after_secs)
        self._declare_metrics()

    # -- metrics -----------------------------------------------------------------------

    def _declare_metrics(self) -> None:
        m = self.metrics
        m.declare("soc_queue_depth", "gauge", "Events queued and not yet stored.",
                  lambda: {(): float(self.queue.depth)})
        m.declare("soc_queue_lag_seconds", "gauge", "Age of the oldest event still queued.", self._lag)
        m.declare("soc_queue_events_total", "counter", "Lifetime events enqueued and acknowledged (in the queue file).",
                  lambda: {(("outcome", k),): float(v) for k, v in self.queue.totals().items()})
        m.declare("soc_pipeline_events_total", "counter", "Events through the pipeline, per outcome.",
                  self._pipeline_values)
        m.declare("soc_parser_events_total", "counter", "Events per parser, parsed or failed.", self._parser_values)
        m.declare("soc_worker_store_errors_total", "counter", "Batches the store refused (retried after a back-off).")
        m.declare("soc_worker_bugs_total", "counter",
                  "Unexpected errors (logged): events dead-lettered or batches retried.")
        m.declare("soc_worker_batches_total", "counter", "Batches processed and acknowledged.")
        m.declare("soc_background_errors_total", "counter", "Errors of background tasks (they go on), per task.")
        m.declare("soc_health_degraded", "gauge", "1 when /health reports degraded, with one sample per reason.",
                  self._health_values)

    def _health_values(self) -> Mapping[Labels, float]:
        # The reasons travel in the metrics file too: soc status shows them without the API.
        problems = self.problems()
        return {(): float(bool(problems)), **{(("reason", p[:200]),): 1.0 for p in problems}}

    def _lag(self) -> Mapping[Labels, float]:
        oldest = self.queue.oldest_received()
        lag = 0.0 if oldest is None else max(0.0, (self.clock.now() - oldest).total_seconds())
        return {(): lag}

    def _pipeline_values(self) -> Mapping[Labels, float]:
        if self.pipeline is None:
            return {}
        s = self.pipeline.stats
        return {(("outcome", name),): float(getattr(s, name)) for name in (
            "received", "parsed", "failed", "alerts", "stored", "duplicates", "store_failures", "parser_bugs")}

    def _parser_values(self) -> Mapping[Labels, float]:
        if self.pipeline is None:
            return {}
        out: dict[Labels, float] = {}
        for parser_id, (ok, failed) in list(self.pipeline.stats.per_parser.items()):
            out[(("outcome", "parsed"), ("parser", parser_id))] = float(ok)
            out[(("outcome", "failed"), ("parser", parser_id))] = float(failed)
        return out

    def write_metrics_file(self) -> None:
        """Write the metrics where ``soc status --data-dir`` reads them (atomically)."""
        if self.data_dir is None:
            return
        target = self.data_dir / METRICS_FILE
        tmp = target.with_suffix(".tmp")
        tmp.write_text(self.metrics.render(), encoding="utf-8")
        tmp.replace(target)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Lock the data directory, start the worker, then bind every receiver (errors
        here stop the start)."""
        if self._data_lock is not None:
            self._data_lock.acquire()  # before anything reads the queue
        self._worker = threading.Thread(target=self._work, name="soc-worker", daemon=True)
        self._worker.start()
        ready = await asyncio.to_thread(self._worker_ready.wait, 60)
        if self._worker_error is not None or not ready:
            if self._data_lock is not None:
                self._data_lock.release()
            raise self._worker_error or StoreError("the store did not open within 60 s")
        try:
            for receiver in self.receivers:
                start = getattr(receiver, "start", None)
                if start is not None:
                    await start(self.queue)
        except BaseException:
            await self.stop()  # release what did start (the worker, bound sockets)
            raise
        for receiver in self.receivers:
            self._tasks.append(asyncio.create_task(self._run_receiver(receiver), name=receiver.name))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))

    async def _run_receiver(self, receiver: Receiver) -> None:
        try:
            await receiver.run(self.queue)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a receiver bug must not take the others down; it is logged
            log.exception("receiver %s stopped with an error", receiver.name)
            self.metrics.inc("soc_worker_bugs_total")
            self.health.task_failed(f"receiver {receiver.name}", f"stopped: {type(exc).__name__}: {exc}")

    async def _housekeeping(self) -> None:
        """Write the metrics file every interval; a failed write (disk full, directory
        gone) is counted, logged (rate-limited) and reported to health, and retried at
        the next interval: the task itself never stops before the service does."""
        while not self._stopped.is_set():
            try:
                await asyncio.to_thread(self.write_metrics_file)
            except Exception as exc:
                self._background_error("metrics_file", exc)
            else:
                self.health.task_ok("metrics_file")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.options.metrics_interval_secs)

    def _background_error(self, task: str, exc: BaseException) -> None:
        self.metrics.inc("soc_background_errors_total", task=task)
        self._bugs(f"background task {task} failed (it goes on)", exc)
        self.health.task_failed(task, f"{type(exc).__name__}: {exc}")

    def problems(self) -> list[str]:
        """Why the service is degraded (empty when healthy): what the worker and the
        tasks reported, and any of them that is no longer running."""
        found = self.health.problems(self.queue.depth)
        if self._worker is not None and not self._worker.is_alive() and not self._worker_stop.is_set():
            found.append("the pipeline worker is not running")
        for task in self._tasks:
            if task.done() and not self._stopped.is_set():
                found.append(f"background task {task.get_name()} is not running")
        return found

    async def stop(self) -> None:
        """Graceful stop (see the module docstring)."""
        self._stopped.set()
        for receiver in self.receivers:
            await receiver.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.options.stop_grace_secs)
            for task in pending:
                task.cancel()
        self._worker_stop.set()
        if self._worker is not None:
            await asyncio.to_thread(self._worker.join, self.options.stop_grace_secs * 3)
        try:
            self.write_metrics_file()
        except OSError as exc:  # the last figures are lost, not the stop
            log.warning("could not write the metrics file at stop: %s", exc)
        self.queue.close()
        if self._data_lock is not None:
            self._data_lock.release()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Start, serve until ``stop`` is set, then stop gracefully."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    # -- the worker --------------------------------------------------------------------

    def _work(self) -> None:
        """The worker thread: the store is opened here, as its connections may be bound
        to the thread that opened them."""
        try:
            self.store = self.store_factory()
            stage = self.alert_stage_factory(self.store) if self.alert_stage_factory else None
            self.pipeline = Pipeline(self.router, self.store, self.detectors, clock=self.clock,
                                     batch_size=self.options.batch_size, alert_stage=stage)
        except BaseException as exc:  # reported to start(), which raises it
            self._worker_error = exc
            self._worker_ready.set()
            return
        self._worker_ready.set()
        backoff = 0.5
        try:
            while not self._worker_stop.is_set():
                try:
                    self._loop(self.pipeline)
                except Exception as exc:  # the queue's file failing, a bug: reported, restarted
                    self._background_error("worker", exc)
                    self._worker_stop.wait(backoff)
                    backoff = min(backoff * 2, _STORE_BACKOFF_MAX_SECS)
                    with contextlib.suppress(Exception):
                        self.queue.rewind()
        finally:
            self.store.close()

    def _loop(self, pipeline: Pipeline) -> None:
        backoff = 0.0
        failures = 0  # consecutive failed writes of the batch in flight
        last_flush = last_purge = time.monotonic()
        while not self._worker_stop.is_set():
            if backoff:
                self._worker_stop.wait(backoff)
                if self._worker_stop.is_set():
                    return
            now = time.monotonic()
            extra: list[Event] = []
            if now - last_flush >= self.options.detector_flush_interval_secs:
                last_flush = now
                try:
                    extra = pipeline.flush_detectors()
                except Exception as exc:  # a detector bug: the next flush tries again
                    self._background_error("detector_flush", exc)
                else:
                    self.health.task_ok("detector_flush")
            if self.options.retention_days and now - last_purge >= self.options.retention_check_interval_secs:
                last_purge = now
                self._purge(pipeline)
            batch = self.queue.read(self.options.batch_size)
            if batch is None and not extra:
                self.health.progressed(idle=True)
                self._worker_stop.wait(_IDLE_WAIT_SECS)
                continue
            documents = list(extra)
            if batch is not None:
                documents.extend(pipeline.process_batch(batch.events, on_bug=self._pipeline_bug))
            try:
                # Retried enough: the batch itself may hold what the store refuses.
                pipeline.write(documents, isolate=failures >= self.options.store_attempts_before_isolating)
            except Exception as exc:
                failures += 1
                backoff = min(max(backoff * 2, 0.5), _STORE_BACKOFF_MAX_SECS)
                if isinstance(exc, StoreError):
                    log.warning("store refused a batch (%s); retrying in %.1f s", exc, backoff)
                    self.metrics.inc("soc_worker_store_errors_total")
                else:  # a store bug the pipeline could not isolate: counted, logged
                    self.metrics.inc("soc_worker_bugs_total")
                    self._bugs("store write failed unexpectedly", exc)
                self.health.store_failed(f"{type(exc).__name__}: {exc}")
                self.queue.rewind()
                continue
            backoff = 0.0
            failures = 0
            if batch is not None:
                self.queue.ack(batch.last_seq)
                self.metrics.inc("soc_worker_batches_total")
            self.health.progressed()

    def _pipeline_bug(self, raw: RawEvent, exc: Exception) -> Event:
        """A bug in an enricher or detector makes that event a dead letter (parser bugs
        are already handled by the pipeline): counted, logged (rate-limited), kept."""
        self.metrics.inc("soc_worker_bugs_total")
        self._bugs(f"pipeline raised on an event from {raw.source}", exc)
        return pipeline_error(raw, "pipeline", f"bug: {type(exc).__name__}: {exc}")

    def _purge(self, pipeline: Pipeline) -> None:
        days = self.options.retention_days
        if not days or pipeline.store is None:
            return
        cutoff = self.clock.now() - timedelta(days=days)
        try:
            removed = pipeline.store.purge_older_than(cutoff)
        except Exception as exc:  # retried at the next check
            self._background_error("retention", exc)
            return
        self.health.task_ok("retention")
        log.info("retention: removed %d events older than %s", removed, cutoff.isoformat())

    def stats(self) -> dict[str, Any]:
        """A summary for tests and ``soc status``."""
        return {name: dict(values) for name, values in self.metrics.snapshot().items()}
