"""osmem-server for tests: a real OpenSearch-compatible process on 127.0.0.1.

``osmem_url()`` starts the server, makes a clone (writes go to clones: a clone freezes
its base) and yields the clone's URL. The ``osmem_server`` session fixture does the same
once per test session; tests keep apart by using a unique index prefix each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from osmem_server import OsmemServer


@contextmanager
def osmem_url() -> Iterator[str]:
    """A running osmem-server clone's URL (``http://127.0.0.1:<random port>``)."""
    server = OsmemServer.start(addr="127.0.0.1:0", japanese=False, startup_timeout=30)
    try:
        with server.clone() as clone:
            yield clone.url
    finally:
        server.close()
        # OsmemServer.close leaves its stdout pipe open (a ResourceWarning under -W error).
        if server.process.stdout is not None:
            server.process.stdout.close()


@pytest.fixture(scope="session")
def osmem_server() -> Iterator[str]:
    """One osmem-server clone for the session; its URL."""
    with osmem_url() as url:
        yield url
