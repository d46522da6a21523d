"""medallion (a TAXII 2.1 server from PyPI) for tests: a real process on 127.0.0.1, memory
backend, one API root with an empty read-write collection, basic auth, small pages."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

COLLECTION_ID = "365fed99-08fa-fdcd-a1b3-fb247eb41d01"
USER, PASSWORD = "center", "center-secret"


@dataclass(frozen=True)
class Medallion:
    url: str
    collection_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def medallion(tmp: Path, page_size: int = 2) -> Iterator[Medallion]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {"title": "test center", "default": f"{base}/api1/", "api_roots": [f"{base}/api1/"]},
        "api1": {
            "information": {"title": "api1", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 10_000_000},
            "status": [],
            "collections": [{"id": COLLECTION_ID, "title": "indicators", "can_read": True, "can_write": True,
                             "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}],
        },
    }
    (tmp / "data.json").write_text(json.dumps(data))
    config = {"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                          "filename": str(tmp / "data.json")},
              "users": {USER: PASSWORD}, "taxii": {"max_page_size": page_size}}
    (tmp / "config.json").write_text(json.dumps(config))
    proc = subprocess.Popen([sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port",
                             str(port), str(tmp / "config.json")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/taxii2/", auth=(USER, PASSWORD), timeout=2,
                             headers={"Accept": "application/taxii+json;version=2.1"})
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("medallion did not start") from None
                time.sleep(0.1)
        yield Medallion(base, f"{base}/api1/collections/{COLLECTION_ID}/")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
