"""Wazuh's decoder tests for the firewall products we parse: every ``pass`` line of the
product's .ini file must parse with our parser for that product."""

from __future__ import annotations

import re

import pytest

from tests.conftest import corpus_path
from tests.parsers.firewall._support import field, parser_for, raw

CASES = {
    "fortigate.ini": "fortinet.firewall",
    "paloalto.ini": "panw.panos",
    "pfsense.ini": "pfsense.log",
}


@pytest.mark.parametrize(("ini", "dataset"), sorted(CASES.items()))
def test_pass_lines_parse(ini: str, dataset: str) -> None:
    text = corpus_path("wazuh_ruleset_tests", ini).read_text()
    lines = re.findall(r"^log \d+ pass = (.*)$", text, re.M)
    assert lines
    parser = parser_for(dataset)
    for line in lines:
        event = parser.parse(raw(line))
        assert field(event, "event.dataset") == dataset
        assert field(event, "event.kind") in ("event", "alert")


def test_fortigate_lines_keep_their_vendor_time_and_device() -> None:
    text = corpus_path("wazuh_ruleset_tests", "fortigate.ini").read_text()
    parser = parser_for("fortinet.firewall")
    for line in re.findall(r"^log \d+ pass = (.*)$", text, re.M):
        event = parser.parse(raw(line))
        date = re.search(r"\bdate=(\d{4}-\d{2}-\d{2})", line)
        assert date is not None
        assert field(event, "@timestamp").startswith(date.group(1)), line
        assert field(event, "observer.vendor") == "Fortinet"


def test_panos_lines_keep_their_log_type() -> None:
    text = corpus_path("wazuh_ruleset_tests", "paloalto.ini").read_text()
    parser = parser_for("panw.panos")
    for line in re.findall(r"^log \d+ pass = (.*)$", text, re.M):
        log_type = re.search(r",(SYSTEM|TRAFFIC|CONFIG|THREAT|OTHERS),", line)
        assert log_type is not None
        assert field(parser.parse(raw(line)), "panw.panos.type") == log_type.group(1)
