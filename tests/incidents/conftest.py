"""The ``store`` fixture of the incident tests: each test runs on both stores, as the store
contract suite does (tests/soc_store/conftest.py)."""

from __future__ import annotations

from tests.soc_store.conftest import store as _contract_store
from tests.soc_store.osmem import osmem_server  # noqa: F401 - a session fixture, used by name

store = _contract_store
