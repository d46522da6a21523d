"""Elastic's system.security pipeline tests (JSON inputs, nested expected documents)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CORPUS, corpus_path
from tests.parsers.golden import fixtures, score_filebeat_fixture

SECURITY = Path(CORPUS, "elastic_integrations", "system", "security")


@pytest.mark.parametrize(
    ("log", "expected"), fixtures(SECURITY) if SECURITY.is_dir() else [], ids=lambda p: Path(p).name
)
@pytest.mark.parametrize("parser_name", ["system.security", "winlog"])
def test_system_security_fixture(parser_name: str, log: Path, expected: Path) -> None:
    score = score_filebeat_fixture(parser_name, log, expected)
    assert score.total > 0
    assert score.ratio >= 0.95, score.summary()


def test_security_fixtures_are_present() -> None:
    assert len(fixtures(corpus_path("elastic_integrations", "system", "security"))) >= 10
