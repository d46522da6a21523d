"""The ``store`` fixture of the store contract tests: intel tests run on both stores."""

from tests.soc_store.conftest import store  # noqa: F401 - a fixture, used by name
from tests.soc_store.osmem import osmem_server  # noqa: F401 - a session fixture, used by name
