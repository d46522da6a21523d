"""Wazuh ruleset tests (``apache.ini``, ``modsecurity.ini``, ``web_appsec.ini``) as oracle.

Wazuh decodes these lines with its ``apache-errorlog`` and ``web-accesslog`` decoders and
files them under rules we can mirror: 30411 is "ModSecurity rejected a query" (an access
denied), 30401 groups ModSecurity warnings. Every ``pass`` line must parse with our
parser, the client must land in ``source.ip`` as Wazuh's ``srcip``, and the ModSecurity
verdict must match the Wazuh rule.
"""

from __future__ import annotations

import configparser
import re
from datetime import UTC

import pytest

from parsers.base import ParserOptions
from parsers.web.apache import ApacheAccessParser, ApacheErrorParser
from soc_core.clock import FrozenClock
from soc_core.event import RawEvent, get_field
from tests.conftest import FROZEN_AT, corpus_path

_CLIENT = re.compile(r"\[client ([0-9a-fA-F.:]+?)(?::\d+)?\]")
_ACCESS_CLIENT = re.compile(r"^(\S+) ")


def _sections(name: str) -> list[tuple[str, dict[str, str]]]:
    parser = configparser.ConfigParser(interpolation=None, strict=False, comment_prefixes=(";", "#"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(corpus_path("wazuh_ruleset_tests", name), encoding="utf-8")
    return [(s, dict(parser[s])) for s in parser.sections()]


def _raw(line: str) -> RawEvent:
    return RawEvent.from_bytes(line.encode(), "wazuh-test", FROZEN_AT)


def _passes(section: dict[str, str]) -> list[str]:
    return [v for k, v in section.items() if k.startswith("log ") and k.endswith(" pass")]


@pytest.mark.parametrize("ini", ["apache.ini", "modsecurity.ini"])
def test_error_log_lines_parse_with_client(ini: str) -> None:
    parser = ApacheErrorParser(ParserOptions(tz=UTC, clock=FrozenClock(FROZEN_AT)))
    lines = [(s, line) for s, values in _sections(ini) if values.get("decoder") == "apache-errorlog"
             for line in _passes(values)]
    assert len(lines) >= 5
    for section, line in lines:
        event = parser.parse(_raw(line))
        client = _CLIENT.search(line)
        if client:
            assert get_field(event, "source.ip") == client.group(1), (section, line)
        assert event["log"]["level"] in line, (section, line)


def test_modsecurity_verdicts_match_wazuh_rules() -> None:
    parser = ApacheErrorParser(ParserOptions(tz=UTC, clock=FrozenClock(FROZEN_AT)))
    seen = set()
    for _, values in _sections("modsecurity.ini"):
        for line in _passes(values):
            event = parser.parse(_raw(line))
            if values.get("rule") == "30411":
                assert "denied" in event["event"]["type"], line
                assert get_field(event, "event.action") == "access-denied"
                assert get_field(event, "rule.id") == re.search(r'\[id "(\d+)"\]', line).group(1)  # type: ignore[union-attr]
            elif values.get("rule") == "30401":
                assert get_field(event, "event.action") == "warning"
                assert "intrusion_detection" in event["event"]["category"]
            seen.add(values.get("rule"))
            assert get_field(event, "url.path") == re.search(r'\[uri "([^"]+)"\]', line).group(1)  # type: ignore[union-attr]
    assert {"30401", "30411"} <= seen


def test_web_accesslog_lines_parse() -> None:
    parser = ApacheAccessParser(ParserOptions(tz=UTC, clock=FrozenClock(FROZEN_AT)))
    count = 0
    for _, values in _sections("web_appsec.ini"):
        if values.get("decoder") != "web-accesslog":
            continue
        for key, line in values.items():
            if not key.startswith("log "):
                continue
            event = parser.parse(_raw(line))
            assert get_field(event, "source.address") == _ACCESS_CLIENT.match(line).group(1)  # type: ignore[union-attr]
            assert get_field(event, "http.response.status_code") is not None
            count += 1
    assert count >= 15
