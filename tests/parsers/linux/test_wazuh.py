"""Wazuh decoder tests: every ``pass`` line of the Linux decoders parses with our parser,
and ``auto`` routes it to that same parser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from parsers.auto import AutoParser
from parsers.base import ParserOptions
from soc_core.clock import FrozenClock
from soc_core.event import RawEvent
from soc_core.registry import default_registry
from tests.conftest import corpus_path

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParserOptions(tz=UTC, clock=FrozenClock(NOW))
CASES = {"sshd": "system.auth", "pam": "system.auth", "su": "system.auth", "auditd": "auditd.log",
         "audit_scp": "auditd.log", "iptables": "iptables.log"}


@pytest.mark.parametrize(("ini", "dataset"), sorted(CASES.items()))
def test_pass_lines_parse_and_route(ini: str, dataset: str) -> None:
    text = corpus_path("wazuh_ruleset_tests", f"{ini}.ini").read_text()
    lines = re.findall(r"^log \d+ pass = (.*)$", text, flags=re.M)
    assert lines
    parser = default_registry().get("parser", dataset)(OPTIONS)
    auto = AutoParser(OPTIONS)
    for line in lines:
        raw = RawEvent.from_bytes(line.encode(), "wazuh.log", NOW, 0)
        assert parser.parse(raw)["event"]["dataset"] == dataset, line
        assert auto.parse(raw)["event"]["dataset"] == dataset, line
