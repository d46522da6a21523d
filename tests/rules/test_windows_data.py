"""Unnamed Windows ``<Data>`` items are the Sigma field ``Data`` (as rules for classic
events expect), and Sigma's level lands in ``event.severity`` and ``rule.level``."""

from __future__ import annotations

from pathlib import Path

from rules.alerts import build_alert
from rules.sigma import fieldmap, load_rules
from rules.sigma.engine import SigmaEngine
from soc_core.event import Event
from tests.conftest import FROZEN_AT, corpus_path
from tests.rules.conftest import RECEIVED
from tests.rules.helpers import Both, load_text, rule_yaml, win_event

# The shape of SigmaHQ's "MSSQL Server Failed Logon From External Network": the client
# address is only in the third unnamed <Data> item of event 18456.
MSSQL_DETECTION = """    selection:
        Provider_Name|contains: 'MSSQL'
        EventID: 18456
    filter_main_local_ips:
        Data|contains:
            - 'CLIENT: 10.'
            - 'CLIENT: 192.168.'
            - 'CLIENT: <local machine>'
    condition: selection and not 1 of filter_main_*"""


def mssql_event(client: str) -> Event:
    event = win_event("Application", 18456, param1="sa",
                      param2=" Reason: Password did not match that for the login provided.",
                      param3=f" [CLIENT: {client}]")
    event["winlog"]["provider_name"] = "MSSQLSERVER"
    return event


def test_unnamed_data_items_are_the_data_column() -> None:
    event = mssql_event("10.0.2.17")
    assert fieldmap.sigma_columns(event)["Data"] == ["sa", event["winlog"]["event_data"]["param2"],
                                                     " [CLIENT: 10.0.2.17]"]
    assert fieldmap.windows_view(event)["data"] == fieldmap.sigma_columns(event)["Data"]
    named = win_event(Image="C:\\a.exe")
    assert "Data" not in fieldmap.sigma_columns(named) and "data" not in fieldmap.windows_view(named)


def test_data_filter_applies_to_unnamed_items(tmp_path: Path) -> None:
    both = Both(load_text(tmp_path, rule_yaml(MSSQL_DETECTION, logsource="product: windows\n    service: application",
                                              title="mssql external")))
    assert both.hits(mssql_event("10.0.2.17")) == []
    assert both.hits(mssql_event("<local machine>")) == []
    assert both.hits(mssql_event("203.0.113.9")) == ["mssql external"]


def test_sigmahq_mssql_rule_is_quiet_on_the_corpus_internal_logons() -> None:
    """The corpus file holds failed logons from 10.0.2.17: the SigmaHQ rule must not fire
    (it fired 10 times while unnamed items were only ``param1``..``param3``)."""
    rule = corpus_path("sigma", "sigmahq", "rules", "windows", "builtin", "application", "mssqlserver",
                       "win_mssql_failed_logon_from_external_network.yml")
    evtx = corpus_path("evtx", "Credential Access", "MSSQL_multiple_failed_logon_EventID_18456.evtx")
    from ingest.files import read_file_events
    from ingest.pipeline import BugLogger, Stats, parse_one
    from soc_api.commands._common import make_parser

    parser = make_parser("winlog")
    events = [parse_one(parser, raw, Stats(), BugLogger()) for raw in read_file_events(str(evtx), parser, RECEIVED)]
    engine = SigmaEngine(load_rules([str(rule)]))
    failed_logons = [e for e in events if e["winlog"]["event_id"] == "18456"]
    assert len(failed_logons) >= 10
    assert all("CLIENT: 10." in " ".join(fieldmap.sigma_columns(e)["Data"]) for e in failed_logons)
    assert [e for e in events if engine.match(e)] == []


def test_level_is_event_severity_and_rule_level_not_category(tmp_path: Path) -> None:
    (rule,) = load_text(tmp_path, rule_yaml("    sel:\n        Image: x\n    condition: sel")).rules
    alert = build_alert(win_event(Image="x"), rule, created=FROZEN_AT)
    assert alert["event"]["severity"] == 73
    assert alert["rule"]["level"] == "high"
    assert "category" not in alert["rule"]
