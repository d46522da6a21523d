"""Storage backends behind one Store contract: embedded SQLite and Elasticsearch/OpenSearch.

``open_store(url)`` picks the backend from the URL: ``sqlite:///path/to/file.db`` for the
embedded store, ``http(s)://host:port`` for Elasticsearch or OpenSearch.
"""

from __future__ import annotations

from typing import Any

from soc_core.contracts import Store
from soc_core.errors import ConfigError
from soc_core.registry import default_registry

BUILTIN_STORES: dict[str, str] = {
    "sqlite": "soc_store.sqlite:SqliteStore",
    "elasticsearch": "soc_store.elasticsearch:ElasticsearchStore",
}


def open_store(url: str, *, read_only: bool = False, **options: Any) -> Store:
    """Open the store a URL names (see the module docstring).

    ``read_only`` (commands that only read): an embedded store that does not exist is
    refused rather than created empty; a server store is left as it is.
    """
    registry = default_registry()
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path:
            raise ConfigError("sqlite store URL needs a path: sqlite:///path/to/file.db")
        store: Store = registry.get("store", "sqlite")(path, read_only=read_only, **options)
        return store
    if url.startswith(("http://", "https://")):
        store = registry.get("store", "elasticsearch")(url, **options)
        return store
    raise ConfigError(f"unsupported store URL {url!r} (use sqlite:///path or http(s)://host:port)")
