"""Configuration: validated, unknown keys refused with where and why, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from soc_core.config import load_settings
from soc_core.errors import ConfigError


def test_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "soc.toml"
    path.write_text(
        'store = "sqlite:///var/x.db"\ntimezone = "Asia/Ho_Chi_Minh"\n'
        '[[inputs]]\ntype = "syslog_tcp"\nlisten = "127.0.0.1:5514"\nparser = "fortinet.firewall"\n'
    )
    settings = load_settings(path, environ={"SOC_STORE": "http://127.0.0.1:9200"})
    assert settings.store == "http://127.0.0.1:9200"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.inputs[0].parser == "fortinet.firewall"


def test_typos_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "soc.toml"
    path.write_text("[[inputs]]\ntype = 'syslog_udp'\nlistne = '127.0.0.1:514'\n")
    with pytest.raises(ConfigError, match=r"soc\.toml: inputs\.0\.listne: Extra inputs are not permitted"):
        load_settings(path, environ={})


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "soc.toml"
    path.write_text("store = \n")
    with pytest.raises(ConfigError, match=r"soc\.toml"):
        load_settings(path, environ={})
