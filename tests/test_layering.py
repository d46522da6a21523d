"""Dependencies point one way (docs/architecture.md): each package imports only the
packages of ours it is allowed to. Checked over the source, module by module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"soc_core", "parsers", "soc_store", "rules", "correlation", "incidents", "playbooks", "ingest", "responders",
        "intel", "soc_api", "dashboards"}
ALLOWED: dict[str, set[str]] = {
    "soc_core": set(),
    "parsers": {"soc_core"},
    "soc_store": {"soc_core"},
    "rules": {"soc_core"},
    "correlation": {"soc_core", "rules"},
    "incidents": {"soc_core"},
    "responders": {"soc_core"},
    "playbooks": {"soc_core", "responders", "rules"},
    "intel": {"soc_core"},
    "ingest": {"soc_core", "parsers", "soc_store", "rules", "correlation"},
    "dashboards": {"soc_core"},
    "soc_api": OURS,
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_packages(path) - ALLOWED[package] - {package}
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)
