"""Golden tests: every Filebeat fixture of the Linux datasets, with per-file and per-dataset floors.

The floors sit below today's scores (see the report) so that a regression fails the test;
fields a parser cannot reproduce honestly (a year the fixture's clock chose, GeoIP) are
the difference.
"""

from __future__ import annotations

import pytest

from tests.conftest import corpus_path
from tests.parsers.golden import fixtures, score_filebeat_fixture

# dataset -> (fixture folder under beats_filebeat, floor per file, floor over the dataset)
DATASETS = {
    "system.syslog": (("system", "syslog"), 0.95, 0.98),
    "system.auth": (("system", "auth"), 0.95, 0.98),
    "iptables.log": (("iptables", "log"), 0.95, 0.98),
    "auditd.log": (("auditd", "log"), 0.95, 0.98),
    "cef.log": (("cef", "log"), 0.90, 0.95),
}


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_filebeat_fixtures(dataset: str) -> None:
    folder, file_floor, dataset_floor = DATASETS[dataset]
    pairs = fixtures(corpus_path("beats_filebeat", *folder))
    assert pairs, f"no fixtures for {dataset}"
    hits = total = 0
    for log, expected in pairs:
        score = score_filebeat_fixture(dataset, log, expected)
        assert score.ratio >= file_floor, f"{dataset} {log.name}: {score.summary()}"
        hits, total = hits + score.hits, total + score.total
    assert total > 0
    assert hits / total >= dataset_floor, f"{dataset}: {hits}/{total}"
