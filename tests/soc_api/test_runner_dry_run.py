"""``soc run`` without any response configuration executes its planned actions as dry runs:
a service must not change the firewall of the machine it runs on until an operator has
written response settings (the default blocking responder is nftables on this host)."""

from __future__ import annotations

from pathlib import Path

from playbooks.config import ResponseConfig
from soc_api.commands._response import response_config, runner_config


def test_unconfigured_runner_is_dry_run() -> None:
    config = response_config(None)
    assert not config.policy.dry_run  # planning keeps the real plan (simulate shows it)
    assert runner_config(config).policy.dry_run


def test_a_written_configuration_acts_even_when_it_equals_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "response.yml"
    path.write_text("safeguards:\n  dry_run: false\n", encoding="utf-8")
    config = response_config(str(path))
    assert config.policy == ResponseConfig().policy
    assert not runner_config(config).policy.dry_run
