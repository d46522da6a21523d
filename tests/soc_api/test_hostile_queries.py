"""Issue #21 item 5: every malformed query or parameter is a clear refusal (API: 400 with
a message; CLI: one line and a non-zero exit), never a RecursionError, a 500 or a 502."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from ingest.queue import DurableQueue
from ingest.service import Service
from soc_api.app import build_app
from soc_api.cli import cli
from soc_api.commands._common import make_parser
from soc_store.sqlite import SqliteStore
from tests.soc_api.test_api_and_status import KEY, call
from tests.soc_store.sample import sample_events

HOSTILE_QUERIES = {
    "48 parentheses": "(" * 48 + "user.name:alice" + ")" * 48,
    "96 NOTs": "NOT " * 96 + "user.name:alice",
    "nested value lists": "user.name:" + "(" * 40 + "alice" + ")" * 40,
    "oversize tree": " OR ".join(f"source.port:{i}" for i in range(2000)),
    "oversize text": "user.name:" + "a" * 50_000,
    "NUL in a field name": "user\x00name:alice",
    "NUL in _exists_": "_exists_:user\x00.name",
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    store = SqliteStore(tmp_path / "store.db")
    store.write(sample_events())
    service = Service([], DurableQueue(tmp_path / "q.db"), lambda: store, make_parser)
    yield build_app(service, store, [KEY])
    store.close()


@pytest.mark.parametrize("query", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
@pytest.mark.parametrize("path", ["/api/v1/events/search", "/api/v1/events/count"])
def test_hostile_queries_are_400_with_a_message(app: Any, path: str, query: str) -> None:
    r = call(app, "GET", path, params={"q": query}, headers={"X-Api-Key": KEY})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["message"] and error["details"]["column"] >= 1


def _es_cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


BAD_CURSORS = {
    "garbage": "not-a-cursor",
    "huge": "9" * 60_000 + ":1",  # httpx refuses URLs of 64 KiB and more
    "beyond 64 bits": f"{2**64}:1",
    "three parts": "1:2:3",
    "empty": ":",
    "another store's": _es_cursor([1, "x"]),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_bad_cursor_is_400(app: Any, cursor: str) -> None:
    r = call(app, "GET", "/api/v1/events/search", params={"cursor": cursor}, headers={"X-Api-Key": KEY})
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("invalid cursor")


def test_a_malformed_parameter_is_400_not_422(app: Any) -> None:
    r = call(app, "GET", "/api/v1/events/search", params={"limit": "many"}, headers={"X-Api-Key": KEY})
    assert r.status_code == 400
    assert "limit" in r.json()["error"]["message"]


def test_a_good_cursor_still_pages(app: Any) -> None:
    first = call(app, "GET", "/api/v1/events/search", params={"limit": 5}, headers={"X-Api-Key": KEY}).json()
    nxt = call(app, "GET", "/api/v1/events/search", params={"limit": 5, "cursor": first["cursor"]},
               headers={"X-Api-Key": KEY})
    assert nxt.status_code == 200 and len(nxt.json()["documents"]) == 5


@pytest.mark.parametrize("query", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
def test_cli_search_refuses_in_one_line(tmp_path: Path, query: str) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    result = CliRunner().invoke(cli, ["search", "--store", db, query])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("query error: ")
