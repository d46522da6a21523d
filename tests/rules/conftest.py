"""Corpus fixtures shared by the engine tests: EVTX events parsed once per session."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_one
from soc_api.commands._common import make_parser
from soc_core.event import KIND_EVENT, Event
from tests.conftest import corpus_path

RECEIVED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def read_corpus_evtx() -> list[Event]:
    """Every record of every corpus .evtx file, through the winlog parser, in path order."""
    root = corpus_path("evtx")
    parser = make_parser("winlog")
    stats, bugs = Stats(), BugLogger()
    events: list[Event] = []
    for path in sorted(root.rglob("*.evtx")):
        for raw in read_file_events(str(path), parser, RECEIVED):
            event = parse_one(parser, raw, stats, bugs)
            if event["event"]["kind"] == KIND_EVENT:
                events.append(event)
    assert stats.parsed > 0
    return events


@pytest.fixture(scope="session")
def evtx_events() -> list[Event]:
    return read_corpus_evtx()


@pytest.fixture(scope="session")
def windows_rules_dir() -> Path:
    return corpus_path("sigma", "sigmahq", "rules", "windows")
