"""Filebeat golden fixtures of the endpoint datasets (ECS agreement per file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CORPUS, corpus_path
from tests.parsers.golden import fixtures, score_filebeat_fixture

FOLDERS = {
    "microsoft.m365_defender": ("microsoft", "m365_defender"),
    "crowdstrike.falcon": ("crowdstrike", "falcon"),
    "cisco.amp": ("cisco", "amp"),
}
CASES = [
    (dataset, log, expected)
    for dataset, parts in FOLDERS.items()
    if Path(CORPUS, "beats_filebeat", *parts).is_dir()
    for log, expected in fixtures(Path(CORPUS, "beats_filebeat", *parts))
]


@pytest.mark.parametrize(("dataset", "log", "expected"), CASES, ids=[Path(c[1]).name for c in CASES])
def test_filebeat_fixture(dataset: str, log: Path, expected: Path) -> None:
    score = score_filebeat_fixture(dataset, log, expected)
    assert score.total > 0
    assert score.ratio >= 0.95, score.summary()


@pytest.mark.parametrize("dataset", sorted(FOLDERS))
def test_every_dataset_has_fixtures(dataset: str) -> None:
    assert fixtures(corpus_path("beats_filebeat", *FOLDERS[dataset]))
