"""Our TAXII 2.1 server read by taxii2-client over every endpoint, on 127.0.0.1, with TLP
enforced per partner on every route and filter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Server, as_pages

from intel.repository import IndicatorRepository
from intel.sharing import TLP2_MARKING_IDS, Partner
from intel.taxii_server import COLLECTION_ID, PartnerLogin, build_app
from soc_core.clock import FrozenClock
from soc_store.sqlite import SqliteStore
from tests.intel.test_taxii import fill

LOGINS = [PartnerLogin(Partner("peer"), "peer-pw"), PartnerLogin(Partner("center", amber=True), "center-pw")]


@pytest.fixture
def taxii_url(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[str, SqliteStore]]:
    store = SqliteStore(tmp_path / "s.db")
    repo = IndicatorRepository(store, clock)
    fill(repo, clock)
    app = build_app(repo.all, LOGINS, "SOC Tinh", page_size=4)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def read_all(url: str, user: str, password: str) -> dict[str, Any]:
    server = Server(f"{url}/taxii2/", user=user, password=password)
    (root,) = server.api_roots
    (collection,) = root.collections
    assert collection.id == COLLECTION_ID and collection.can_read and not collection.can_write
    objects = [o for page in as_pages(collection.get_objects, per_request=4) for o in page["objects"]]
    manifest = [e for page in as_pages(collection.get_manifest, per_request=4) for e in page["objects"]]
    return {"collection": collection, "objects": objects, "manifest": manifest}


@pytest.mark.parametrize(("user", "password", "levels"), [
    ("peer", "peer-pw", {"CLEAR", "GREEN"}), ("center", "center-pw", {"CLEAR", "GREEN", "AMBER", "AMBER+STRICT"})])
def test_every_endpoint_and_tlp(taxii_url: tuple[str, SqliteStore], user: str, password: str,
                                levels: set[str]) -> None:
    url, _ = taxii_url
    seen = read_all(url, user, password)
    collection = seen["collection"]
    objects = seen["objects"]
    indicators = [o for o in objects if o["type"] == "indicator"]
    allowed_marks = {TLP2_MARKING_IDS[level] for level in levels}
    assert len(indicators) == 5 * len(levels)
    assert {ref for o in indicators for ref in o["object_marking_refs"]} == allowed_marks
    assert {e["id"] for e in seen["manifest"]} == {o["id"] for o in objects}
    assert TLP2_MARKING_IDS["RED"] not in str(objects) + str(seen["manifest"])

    first = indicators[0]
    assert collection.get_object(first["id"])["objects"] == [first]
    assert collection.object_versions(first["id"])["versions"] == [first["modified"]]
    assert [o["id"] for o in collection.get_objects(
        type="indicator", id=first["id"])["objects"]] == [first["id"]]
    after = collection.get_objects(added_after=first["modified"])["objects"]
    assert all(o.get("modified", o["created"]) > first["modified"] for o in after)

    # What the partner may not see is not there under any route or filter.
    center = read_all(url, "center", "center-pw")["objects"]
    everything = {o["id"] for o in center}
    hidden = everything - {o["id"] for o in objects}
    assert len(hidden) == (0 if user == "center" else 10 + 2)  # 10 AMBER indicators and 2 markings
    for oid in hidden:
        with pytest.raises(requests.HTTPError):
            collection.get_object(oid)
        with pytest.raises(requests.HTTPError):
            collection.object_versions(oid)
        assert collection.get_objects(id=oid)["objects"] == []
        assert collection.get_manifest(id=oid).get("objects", []) == []


def test_unknown_partner_is_refused(taxii_url: tuple[str, SqliteStore]) -> None:
    url, _ = taxii_url
    with pytest.raises((requests.HTTPError, TAXIIServiceException)):
        Server(f"{url}/taxii2/", user="peer", password="wrong").refresh()
    assert requests.get(f"{url}/api/collections/{COLLECTION_ID}/objects/", timeout=10).status_code == 401


def test_soc_intel_serve(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    iocs = tmp_path / "iocs.txt"
    iocs.write_text("evil.example\n")
    partners = tmp_path / "partners.yml"
    partners.write_text("- name: center\n  password_env: CENTER_PW\n  amber: true\n")
    env = {**os.environ, "CENTER_PW": "pw"}
    soc = [sys.executable, "-c", "from soc_api.cli import main; main()", "intel"]
    root = Path(__file__).resolve().parents[2]
    subprocess.run([*soc, "import", "--store", f"sqlite:///{db}", str(iocs)], cwd=root, check=True, timeout=120)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([*soc, "serve", "--store", f"sqlite:///{db}", "--taxii", f"127.0.0.1:{port}",
                             "--partners", str(partners)], cwd=root, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                objects = read_all(f"http://127.0.0.1:{port}", "center", "pw")["objects"]
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        assert [o["name"] for o in objects if o["type"] == "indicator"] == ["evil.example"]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
