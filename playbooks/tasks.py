"""Celery: the action queue on real workers (``soc worker --broker redis://... --store URL``).

Tasks are thin: they take an action id and call the same :class:`~playbooks.executor.Executor`
the in-process runner calls (one code path). ``acks_late`` with ``reject_on_worker_lost``
means a message is acknowledged only after the action finished, so a worker killed
mid-action leaves it to be redelivered (after the broker's visibility timeout); the
executor's claim and the responders' idempotency make the redelivery act at most once
more on an effect that already happened ("already done"), never twice. Retries with
exponential back-off happen only on :class:`~soc_core.errors.RetryableError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from playbooks.config import ResponseConfig
from playbooks.executor import DEFAULT_LEASE_SECS, Executor
from soc_core.contracts import Store
from soc_core.errors import ConfigError, RetryableError

EXECUTE = "soc.actions.execute"
REVERT = "soc.actions.revert"
DEFAULT_VISIBILITY_TIMEOUT_SECS = 3600
MAX_RETRIES = 8


@dataclass
class WorkerContext:
    """What a worker process builds once, on its first task: the store and the executor.
    (Built lazily so a prefork child opens its own store connection after the fork.)"""

    open_store: Callable[[], Store] | None
    config_path: str | None
    lease_secs: float = DEFAULT_LEASE_SECS
    _executor: Executor | None = field(default=None, repr=False)

    def executor(self) -> Executor:
        if self._executor is None:
            if self.open_store is None:
                raise ConfigError("this Celery app only sends tasks: it was built without a store")
            self._executor = Executor(self.open_store(), ResponseConfig.from_file(self.config_path), actor="soc",
                                      lease_secs=self.lease_secs)
        return self._executor


def make_app(broker: str, open_store: Callable[[], Store] | None = None, config_path: str | None = None,
             visibility_timeout_secs: int = DEFAULT_VISIBILITY_TIMEOUT_SECS,
             lease_secs: float = DEFAULT_LEASE_SECS) -> Celery:
    """The Celery app with the two action tasks registered; ``open_store`` builds the store a
    worker executes against (None for an app that only sends tasks)."""
    app = Celery("soc", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json", accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout_secs},
        worker_hijack_root_logger=False,
    )
    context = WorkerContext(open_store, config_path, lease_secs)

    def execute_action(self: Any, action_id: str) -> str:
        return context.executor().execute(action_id)

    def revert_action(self: Any, action_id: str) -> str:
        return context.executor().revert(action_id, reason="expired")

    options: dict[str, Any] = {"bind": True, "acks_late": True, "autoretry_for": (RetryableError,),
                               "retry_backoff": True, "retry_backoff_max": 600, "retry_jitter": False,
                               "max_retries": MAX_RETRIES}
    app.task(name=EXECUTE, **options)(execute_action)
    app.task(name=REVERT, **options)(revert_action)
    app.soc_context = context
    return app


class CeleryDispatcher:
    """Sends runnable actions to the workers (the distributed mode of the runner)."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def execute(self, action_id: str) -> None:
        self.app.send_task(EXECUTE, args=[action_id])

    def revert(self, action_id: str) -> None:
        self.app.send_task(REVERT, args=[action_id])
