"""CrowdSec hub parser tests as a peer oracle: the sshd-logs results CrowdSec asserts
(program, pid, client IP, user) must agree with our system.auth fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from parsers.base import ParserOptions
from parsers.linux.system import SystemAuthParser
from soc_core.clock import FrozenClock
from soc_core.event import RawEvent, get_field
from tests.conftest import corpus_path

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
# CrowdSec's Evt.Parsed names -> our ECS fields
FIELDS = {"program": "process.name", "pid": "process.pid", "sshd_client_ip": "source.ip",
          "sshd_invalid_user": "user.name", "sshd_user": "user.name"}
ASSERT = re.compile(r'sshd-logs"\]\[(\d+)\]\.Evt\.Parsed\["([a-z_]+)"\] == "([^"]*)"')


def test_sshd_logs_agree_with_crowdsec() -> None:
    folder = corpus_path("crowdsec_hub_tests", "sshd-logs")
    lines = [line for line in (folder / "sshd-logs.log").read_text().splitlines() if line.strip()]
    expected: dict[int, dict[str, str]] = {}
    for index, key, value in ASSERT.findall((folder / "parser.assert").read_text()):
        if key in FIELDS:
            expected.setdefault(int(index), {})[key] = value
    assert expected
    parser = SystemAuthParser(ParserOptions(tz=UTC, clock=FrozenClock(NOW)))
    misses = []
    total = 0
    for index, line in enumerate(lines):
        event = parser.parse(RawEvent.from_bytes(line.encode(), "auth.log", NOW, 0))
        for key, value in expected.get(index, {}).items():
            total += 1
            got = get_field(event, FIELDS[key])
            if str(got) != value:
                misses.append((index, key, value, got))
    assert total >= 50
    assert not misses, misses
