"""``soc worker``: a Celery worker for response actions, and the queue's sweep beside it.

The worker executes ``soc.actions.execute``/``soc.actions.revert`` tasks; a thread of the
same process sweeps the durable queue every ``--sweep-secs`` (re-dispatching what a dead
worker left, releasing approved actions, reverting expired blocks), so several workers can
run and any of them can die without losing an action.
"""

from __future__ import annotations

import threading

import click

from playbooks.executor import DEFAULT_LEASE_SECS
from playbooks.runner import ActionRunner, run_loop
from playbooks.tasks import DEFAULT_VISIBILITY_TIMEOUT_SECS, CeleryDispatcher, make_app
from soc_api.commands._common import open_store_or_fail


@click.command("worker")
@click.option("--broker", required=True, help="Broker URL, e.g. redis://127.0.0.1:6379/0.")
@click.option("--store", "store_url", required=True, help="Store URL (sqlite:///file.db or http(s)://host:port).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Response configuration (safeguards, responders).")
@click.option("--pool", type=click.Choice(["solo", "prefork", "threads"]), default="solo", show_default=True)
@click.option("--concurrency", default=1, show_default=True, type=int)
@click.option("--sweep-secs", default=5.0, show_default=True, type=float, help="Seconds between queue sweeps.")
@click.option("--visibility-timeout-secs", default=DEFAULT_VISIBILITY_TIMEOUT_SECS, show_default=True, type=int,
              help="Seconds before the broker redelivers a task a dead worker held.")
@click.option("--lease-secs", default=DEFAULT_LEASE_SECS, show_default=True, type=float,
              help="How long a claimed action stays with its worker before another may retake it.")
@click.option("--loglevel", default="INFO", show_default=True)
def command(broker: str, store_url: str, config_path: str | None, pool: str, concurrency: int, sweep_secs: float,
            visibility_timeout_secs: int, lease_secs: float, loglevel: str) -> None:
    """Run a Celery worker for response actions."""
    store = open_store_or_fail(store_url)
    app = make_app(broker, lambda: open_store_or_fail(store_url), config_path, visibility_timeout_secs, lease_secs)
    runner = ActionRunner(store, CeleryDispatcher(app), redispatch_secs=lease_secs)
    stop = threading.Event()
    sweeper = threading.Thread(target=run_loop, args=(runner, stop, sweep_secs),
                               name="soc-action-sweep", daemon=True)
    sweeper.start()
    try:
        app.worker_main(["worker", f"--pool={pool}", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
                         "--without-gossip", "--without-mingle", "--without-heartbeat"])
    finally:
        stop.set()
        sweeper.join(timeout=sweep_secs + 5)
        store.close()
