"""The response stage's settings and runner for the commands that plan or run actions.

Settings come from the ``[response]`` table of the project's configuration file
(``--config soc.toml``, already validated when the file was read) or from a YAML file of the
same structure given as ``--response-config`` (which then wins); without either, the
defaults (built-in playbooks, default safeguards). ``soc ingest``, ``soc run``,
``soc playbooks``, ``soc actions`` and ``soc worker`` all read them here, so the planner,
the in-process runner and the Celery workers apply the same safeguards.

:func:`start_action_runner` is ``soc run``'s background runner: a thread that sweeps the
durable action queue (executing in this process, or sending to Celery with ``--broker``),
survives its errors and reports them to the service's health (``/health``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

import click

from ingest.health import ServiceHealth
from playbooks.config import ResponseConfig
from playbooks.executor import Executor
from playbooks.runner import ActionRunner, Dispatcher, InProcessDispatcher, run_loop
from soc_api.config_file import SETTINGS_META
from soc_core.contracts import Store
from soc_core.errors import ConfigError

log = logging.getLogger("soc.actions")

RUNNER_TASK = "action_runner"

response_config_option = click.option(
    "--response-config", "response_config", type=click.Path(exists=True, dir_okay=False),
    help="YAML response settings (safeguards, responders, playbooks); default: the [response] table of --config.",
)


def response_config(path: str | None) -> ResponseConfig:
    """The response settings of this command (see the module docstring); a bad file is a
    usage error naming the file and the key."""
    try:
        if path is not None:
            return ResponseConfig.from_file(path).check(path)
        ctx = click.get_current_context(silent=True)
        loaded = ctx.meta.get(SETTINGS_META) if ctx is not None else None
        if loaded is not None and "response" in loaded[1].model_fields_set:
            return ResponseConfig.from_dict(loaded[1].response, f"{loaded[0]}: response")
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    return UNCONFIGURED


# What a command gets when neither --response-config nor a [response] table was given (told
# apart by identity: a configuration that merely equals the defaults was still written by someone).
UNCONFIGURED = ResponseConfig()


def runner_config(config: ResponseConfig) -> ResponseConfig:
    """What ``soc run``'s own runner executes with: the given settings, or, when no response
    configuration was given at all, the defaults in dry-run. A service started without one must
    not change the firewall of the machine it runs on (the default responder is nftables on this
    host); actions are then recorded as ``dry_run`` with what they would have done."""
    if config is not UNCONFIGURED:
        return config
    return replace(config, policy=replace(config.policy, dry_run=True))


def make_dispatcher(store: Store, config: ResponseConfig, broker: str | None) -> Dispatcher:
    """Celery with a broker URL, else this process (the same executor behind both)."""
    if broker:
        from playbooks.tasks import CeleryDispatcher, make_app  # Celery only when asked for

        return CeleryDispatcher(make_app(broker))
    return InProcessDispatcher(Executor(store, config))


def start_action_runner(open_store: Callable[[], Store], config: ResponseConfig, broker: str | None,
                        health: ServiceHealth, stop: threading.Event, interval_secs: float) -> threading.Thread:
    """``soc run``'s action runner thread (its own store connection); stops when ``stop`` is set."""

    def failed(reason: str) -> None:
        health.task_failed(RUNNER_TASK, reason)

    def body() -> None:
        store: Store | None = None
        while store is None and not stop.is_set():
            try:
                store = open_store()
            except Exception as exc:  # reported and retried: the service runs on meanwhile
                log.warning("action runner: cannot open the store: %s", exc)
                failed(f"cannot open the store: {type(exc).__name__}: {exc}")
                stop.wait(interval_secs)
        if store is None:
            return
        try:
            runner = ActionRunner(store, make_dispatcher(store, config, broker))
            run_loop(runner, stop, interval_secs, on_error=failed, on_ok=lambda: health.task_ok(RUNNER_TASK))
        except Exception as exc:  # a dead runner must show on /health, not vanish
            log.error("action runner stopped: %s", exc)
            failed(f"stopped: {type(exc).__name__}: {exc}")
        finally:
            store.close()

    thread = threading.Thread(target=body, name="soc-action-runner", daemon=True)
    thread.start()
    return thread
