"""RFC 5424 and RFC 3164 headers give the same event (issue #20, item 7).

Senders choose the header format (``logger`` and rsyslog's
``RSYSLOG_SyslogProtocol23Format`` write RFC 5424), not the program: every Filebeat fixture
line with an RFC 3164 ``program[pid]:`` header is rewritten with the same priority, time,
host, APP-NAME and PROCID as RFC 5424, and must parse through ``auto`` to the same
dataset and the same fields, bar those only one header format has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from parsers.auto import AutoParser
from parsers.base import ParserOptions
from parsers.syslog import split_rfc3164
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import RawEvent
from tests.conftest import corpus_path

NOW = datetime(2026, 12, 7, tzinfo=UTC)
OPTIONS = ParserOptions(tz=UTC, clock=FrozenClock(NOW))
# What differs by design: the identity and original text, the header's own fields, and the
# time (a year-less BSD stamp against RFC 5424's full one).
HEADER_ONLY = ("event.id", "event.original", "log.syslog", "@timestamp", "event.severity", "message",
               "host.hostname", "related.hosts", "observer.hostname", "process.pid", "event.start", "event.end")
FIXTURES = ("system/auth", "system/syslog", "haproxy/log", "snort/log", "iptables/log", "cisco/asa")


def flat(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flat(value, path))
        else:
            out[path] = value
    return out


def as_rfc5424(line: str) -> str | None:
    header = split_rfc3164(line, UTC, NOW, require_program=True)
    # (a host read as the program, "host.example %FTD-...", has no RFC 5424 twin)
    if header is None or header.program is None or header.timestamp is None or not header.program.isidentifier():
        return None
    pri = header.priority if header.priority is not None else 13
    return (f"<{pri}>1 {header.timestamp.isoformat()} {header.hostname or '-'} {header.program} "
            f"{header.pid or '-'} - - {header.message}")


@pytest.mark.parametrize("fixture", FIXTURES)
def test_rfc5424_lines_parse_like_their_rfc3164_twins(fixture: str) -> None:
    auto = AutoParser(OPTIONS)
    compared = 0
    for path in sorted(corpus_path("beats_filebeat", *fixture.split("/")).glob("*.log")):
        for line in path.read_text(errors="replace").splitlines()[:150]:
            twin = as_rfc5424(line)
            if twin is None:
                continue
            try:
                bsd = auto.parse(RawEvent.from_bytes(line.encode(), "x.log", NOW, 0))
            except ParseError:
                continue
            modern = flat(auto.parse(RawEvent.from_bytes(twin.encode(), "x.log", NOW, 0)))
            expected = flat(bsd)
            differing = [k for k in expected if not k.startswith(HEADER_ONLY) and expected[k] != modern.get(k)]
            assert not differing, (twin, {k: (expected[k], modern.get(k)) for k in differing})
            assert modern["log.syslog.version"] == "1"
            compared += 1
    assert compared > 0
