"""The ``store`` fixture: every contract test runs on each store implementation."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from soc_core.contracts import Store
from soc_store.elasticsearch import ElasticsearchStore
from soc_store.sqlite import SqliteStore
from tests.soc_store.osmem import osmem_server  # noqa: F401 - a session fixture, used by name

_counter = itertools.count()


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        sqlite_store = SqliteStore(tmp_path / "store.db")
        yield sqlite_store
        sqlite_store.close()
        return
    url = request.getfixturevalue("osmem_server")
    es_store = ElasticsearchStore(url, index_prefix=f"soc-test-{next(_counter)}")
    yield es_store
    es_store.close()
