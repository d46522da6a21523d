"""The configuration file (``soc_core.config``) as defaults of the ``soc`` commands.

Every command takes ``--config FILE`` (or ``SOC_CONFIG``): the file's values become the
defaults of the command's options, so the command line overrides the file, and a service
runs under systemd with one file (``soc run --config /etc/soc/soc.toml``). Mapping:

* ``store``, ``timezone`` (``--tz``), ``rules``, ``max_batch_events`` (``--batch-size``),
  ``retention_days``: every command that has the option;
* ``inputs`` and ``queue_path`` (its folder is ``--data-dir``): ``soc run``'s receivers,
  one ``[[inputs]]`` table per listener (``type`` syslog_udp, syslog_tcp, syslog_tls, http
  or file_tail; ``listen``; ``paths``; ``parser``; ``encoding``; ``options``: tls_cert, tls_key,
  tls_client_ca, max_body_bytes);
* ``[response]``: the response settings (safeguards, responders, playbooks) of ``soc ingest``,
  ``soc run``, ``soc playbooks``, ``soc actions`` and ``soc worker`` (see docs/responders.md);
* ``[command.<name>]``: any option of that command by its long name (``data_dir`` or
  ``data-dir``), checked against the command: an unknown name is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from soc_core.config import Settings, load_settings
from soc_core.errors import ConfigError

# Settings fields shared by several commands -> the long option name that takes them.
_SHARED = {"store": "store", "timezone": "tz", "rules": "rules", "max_batch_events": "batch_size",
           "retention_days": "retention_days"}
_RECEIVER_OPTIONS = {"syslog_udp", "syslog_tcp", "syslog_tls", "http"}
_INPUT_OPTIONS = {"tls_cert": "tls_cert", "tls_key": "tls_key", "tls_client_ca": "tls_client_ca",
                  "max_body_bytes": "http_max_body_bytes"}
QUEUE_FILE = "queue.db"
SETTINGS_META = "soc.settings"  # ctx.meta key: (path, Settings) of the --config file


def option_names(command: click.Command) -> dict[str, click.Option]:
    """The command's options by long name, ``-`` as ``_`` (``--data-dir`` -> ``data_dir``)."""
    out: dict[str, click.Option] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--"):
                    out[opt[2:].replace("-", "_")] = param
    return out


def _inputs(settings: Settings) -> dict[str, Any]:
    """``soc run``'s receiver options from ``[[inputs]]``."""
    values: dict[str, Any] = {}
    for index, spec in enumerate(settings.inputs):
        where = f"inputs.{index}"
        suffix = "" if spec.parser == "auto" else f"={spec.parser}"
        if spec.encoding:
            suffix += f"@{spec.encoding}"
        if spec.type in _RECEIVER_OPTIONS:
            if not spec.listen:
                raise ConfigError(f"{where}: a {spec.type} input needs listen = \"HOST:PORT\"")
            values.setdefault(spec.type, []).append(spec.listen + suffix)
        elif spec.type == "file_tail":
            if not spec.paths:
                raise ConfigError(f"{where}: a file_tail input needs paths = [\"GLOB\", ...]")
            values.setdefault("tail", []).extend(path + suffix for path in spec.paths)
        else:
            raise ConfigError(f"{where}.type: unknown receiver {spec.type!r} "
                              f"(one of {', '.join(sorted(_RECEIVER_OPTIONS | {'file_tail'}))})")
        for key, value in spec.options.items():
            if key not in _INPUT_OPTIONS:
                raise ConfigError(f"{where}.options.{key}: not an input option "
                                  f"(one of {', '.join(sorted(_INPUT_OPTIONS))})")
            values[_INPUT_OPTIONS[key]] = value
    return values


def file_values(command: click.Command, settings: Settings) -> dict[str, Any]:
    """What the file says for ``command``, by long option name (validated names)."""
    names = option_names(command)
    given = settings.model_fields_set
    values: dict[str, Any] = {}
    for field_name, option in _SHARED.items():
        if field_name in given and option in names:
            values[option] = getattr(settings, field_name)
    if command.name == "run":
        if "inputs" in given:
            values.update(_inputs(settings))
        if "queue_path" in given:
            queue = Path(settings.queue_path)
            if queue.name != QUEUE_FILE:
                raise ConfigError(f"queue_path: soc run keeps its queue in DATA_DIR/{QUEUE_FILE}; "
                                  f"got {settings.queue_path!r}")
            values["data_dir"] = str(queue.parent)
    for key, value in settings.command.get(command.name or "", {}).items():
        name = key.replace("-", "_")
        if name not in names or name == "config":
            known = ", ".join(sorted(n for n in names if n not in ("config", "help")))
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"command.{command.name}.{key}: soc {command.name} has no option {flag} "
                              f"(options: {known})")
        values[name] = value
    return values


def defaults_for(ctx: click.Context, command: click.Command, settings: Settings) -> dict[str, Any]:
    """The file's values as click defaults (by parameter name), each checked against the
    option's type: a wrong value is an error now, naming the key."""
    names = option_names(command)
    defaults: dict[str, Any] = {}
    for name, value in file_values(command, settings).items():
        option = names[name]
        if option.multiple and not isinstance(value, list):
            value = [value]
        try:
            option.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise ConfigError(f"{name} for soc {command.name}: {exc.message}") from None
        assert option.name is not None  # every option has a parameter name
        defaults[option.name] = value
    return defaults


def check_response(path: str, settings: Settings) -> None:
    """Validate the ``[response]`` table now (the safeguards, responder settings and playbook
    folders), so a typo fails every command at start, naming the file and the key."""
    if "response" not in settings.model_fields_set:
        return
    from playbooks.config import ResponseConfig  # the response stage, only when configured

    source = f"{path}: response"
    ResponseConfig.from_dict(settings.response, source).check(source)


def _load(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    try:
        settings = load_settings(value)
        defaults = defaults_for(ctx, ctx.command, settings)
        check_response(value, settings)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="--config") from None
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    ctx.meta[SETTINGS_META] = (value, settings)  # read by the response commands (soc_api.commands._response)


def config_param() -> click.Option:
    """The ``--config FILE`` option every command gets (eager: the file's values must be
    the defaults before any other option is read)."""
    return click.Option(
        ["--config"], type=click.Path(exists=True, dir_okay=False), is_eager=True, expose_value=False,
        envvar="SOC_CONFIG", callback=_load,
        help="TOML configuration file (env SOC_CONFIG); the command line overrides it.",
    )
