"""Shared fixtures: the corpus location (skipping clearly when absent), a frozen clock."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from soc_core.clock import FrozenClock

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SOC_CORPUS", ROOT.parent / "shared" / "corpus"))
FROZEN_AT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def corpus_path(*parts: str) -> Path:
    """A path inside the shared corpus; the calling test is skipped when it is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not found at {path} (set SOC_CORPUS to its location)")
    return path


@pytest.fixture
def corpus() -> Path:
    """The shared corpus folder (tests using it skip when it is absent)."""
    return corpus_path()


@pytest.fixture(autouse=True)
def _rule_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """``soc detect`` caches compiled rule sets: in tests, under pytest's temporary folder,
    never in the user's own cache."""
    monkeypatch.setenv("SOC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "soc-rule-cache"))


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at a fixed instant."""
    return FrozenClock(FROZEN_AT)


def reap(proc: subprocess.Popen[str]) -> None:
    """End a child process a test started (``soc run``) if it is still running, and close its
    pipes: the ``finally`` of every test that starts one."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
