"""``POST /_bulk`` and ``/<index>/_bulk`` against a real uvicorn socket, driven by the
official ``elasticsearch`` client's bulk helpers and by raw Filebeat-style requests:
per-item results in Elasticsearch's format, nothing lost on the way to the store."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from elasticsearch import Elasticsearch, helpers

from ingest.pipeline import Pipeline
from ingest.queue import DurableQueue
from ingest.receivers.es_bulk import split_bulk
from ingest.receivers.http import HttpReceiver
from parsers.base import ParserOptions
from parsers.ecs_document import EcsDocumentParser
from soc_core.query.grammar import parse_query
from soc_store import open_store
from tests.ingest.receivers.helpers import drain, new_queue

KEY = "k-bulk-1"
SSHD = "Dec  1 10:00:0{n} web01 sshd[1234]: Failed password for invalid user admin from 10.0.0.{n} port 22 ssh2"


def serve(queue: DurableQueue, client_side: Callable[[str], Any], **options: Any) -> Any:
    """Run the receiver on 127.0.0.1 and ``client_side(url)`` in a thread (the official
    client is synchronous); its result is returned."""
    result: dict[str, Any] = {}

    async def main() -> None:
        receiver = HttpReceiver("127.0.0.1", 0, [KEY], **options)
        await receiver.start(queue)
        task = asyncio.create_task(receiver.run(queue))
        try:
            url = f"http://127.0.0.1:{receiver.bound_port}"
            result["value"] = await asyncio.wait_for(asyncio.to_thread(client_side, url), 60)
        finally:
            await receiver.stop()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
    return result["value"]


def filebeat_doc(n: int) -> dict[str, Any]:
    return {"@timestamp": f"2026-12-01T10:00:0{n}.000Z", "message": SSHD.format(n=n),
            "log": {"file": {"path": "/var/log/auth.log"}, "offset": n * 100},
            "host": {"name": "web01"}, "agent": {"type": "filebeat", "version": "8.17.0"},
            "input": {"type": "filestream"}, "ecs": {"version": "8.0.0"}}


def store_all(queue: DurableQueue, tmp_path: Path) -> Any:
    """What was queued, through the pipeline into an embedded store."""
    store = open_store(f"sqlite:///{tmp_path / 'bulk.db'}")
    pipeline = Pipeline(EcsDocumentParser(ParserOptions()), store, [])
    pipeline.run(drain(queue))
    return store


def test_official_client_bulk_helper_delivers_every_document(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    docs = [filebeat_doc(n) for n in range(1, 6)]
    winlogbeat = {"@timestamp": "2026-12-01T10:00:09.000Z", "message": "An account failed to log on.",
                  "event": {"code": "4625", "dataset": "system.security", "kind": "event"},
                  "winlog": {"event_id": "4625", "channel": "Security"}}

    def client_side(url: str) -> Any:
        # Plain JSON headers are what Beats send; the client checks our product header.
        es = Elasticsearch(url, api_key=KEY, request_timeout=10)
        assert es.info()["version"]["number"].startswith("8.")
        ok, errors = helpers.bulk(es, [{"_index": "filebeat-8", "_source": d} for d in docs]
                                  + [{"_index": "winlogbeat-8", "_op_type": "create", "_source": winlogbeat}])
        es.close()
        return ok, errors

    ok, errors = serve(queue, client_side)
    assert (ok, errors) == (6, [])
    store = store_all(queue, tmp_path)
    assert store.count("events", parse_query("*")) == 6
    assert store.count("dead_letters", parse_query("*")) == 0
    auth = store.count("events", parse_query('event.dataset:"system.auth" AND event.outcome:failure'))
    assert auth == 5
    assert store.count("events", parse_query("source.ip:10.0.0.3 AND agent.type:filebeat")) == 1
    assert store.count("events", parse_query('winlog.event_id:"4625"')) == 1
    store.close()
    queue.close()


def test_filebeat_style_gzip_request_gets_per_item_results(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    lines = [orjson.dumps({"create": {"_index": "logs", "_id": "given-1"}}), orjson.dumps(filebeat_doc(1)),
             b'{"index": {}}', b"this is not json",
             b'{"delete": {"_index": "logs", "_id": "x"}}',
             b'{"update": {"_id": "y"}}', b'{"doc": {"a": 1}}',
             b'{"index": {"_index": "other"}}', orjson.dumps(filebeat_doc(2))]
    body = gzip.compress(b"\n".join(lines) + b"\n")

    def client_side(url: str) -> Any:
        headers = {"Authorization": f"ApiKey {KEY}", "Content-Encoding": "gzip",
                   "Content-Type": "application/x-ndjson"}
        return httpx.post(f"{url}/logs/_bulk", content=body, headers=headers, timeout=10)

    response = serve(queue, client_side)
    assert response.status_code == 200 and response.headers["X-Elastic-Product"] == "Elasticsearch"
    answer = response.json()
    assert answer["errors"] is True
    items = answer["items"]
    assert [next(iter(i)) for i in items] == ["create", "index", "delete", "update", "index"]
    assert [next(iter(i.values()))["status"] for i in items] == [201, 400, 400, 400, 201]
    assert items[0]["create"]["_id"] == "given-1" and items[0]["create"]["_index"] == "logs"
    assert items[1]["index"]["error"]["type"] == "document_parsing_exception"
    assert items[4]["index"]["_index"] == "other"
    store = store_all(queue, tmp_path)
    # The two documents, and the broken one kept as a dead letter with its bytes.
    assert store.count("events", parse_query("*")) == 2
    assert store.count("dead_letters", parse_query("*")) == 1
    store.close()
    queue.close()


def test_queue_full_items_are_429_so_only_they_are_retried(tmp_path: Path) -> None:
    queue = new_queue(tmp_path, max_events=2)

    def request(url: str, numbers: range) -> Any:
        body = b"".join(orjson.dumps({"index": {"_index": "x"}}) + b"\n" + orjson.dumps(filebeat_doc(n)) + b"\n"
                        for n in numbers)
        return httpx.post(f"{url}/_bulk", content=body, headers={"X-API-Key": KEY}, timeout=10).json()

    first, second = serve(queue, lambda url: (request(url, range(1, 3)), request(url, range(3, 5))),
                          queue_wait_secs=0.2)
    assert first["errors"] is False and [i["index"]["status"] for i in first["items"]] == [201, 201]
    assert second["errors"] is True and [i["index"]["status"] for i in second["items"]] == [429, 429]
    assert second["items"][0]["index"]["error"]["type"] == "es_rejected_execution_exception"
    assert len(drain(queue)) == 2
    queue.close()


def test_bulk_refuses_bad_keys_and_malformed_action_lines(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)

    def client_side(url: str) -> Any:
        wrong = httpx.post(f"{url}/_bulk", content=b'{"index":{}}\n{}\n', headers={"X-API-Key": "nope"})
        basic = httpx.post(f"{url}/_bulk", content=b'{"index":{}}\n{"a":1}\n', auth=("elastic", KEY))
        broken = httpx.post(f"{url}/_bulk", content=b'{"index":{}\n{"a":1}\n', headers={"X-API-Key": KEY})
        return wrong, basic, broken

    wrong, basic, broken = serve(queue, client_side)
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "security_exception"
    assert basic.status_code == 200 and basic.json()["errors"] is False
    assert broken.status_code == 400 and "Malformed action/metadata line [1]" in broken.json()["error"]["reason"]
    assert len(drain(queue)) == 1  # only the Basic-authenticated document
    queue.close()


def test_split_bulk_pairs_actions_with_their_documents() -> None:
    items = split_bulk(b'{"index":{"_index":"a"}}\n{"x":1}\n\n{"delete":{"_id":"1"}}\n{"create":{}}\n{"y":2}\n', "d")
    assert [(i.action, i.index, i.data) for i in items] == [
        ("index", "a", b'{"x":1}'), ("delete", "d", None), ("create", "d", b'{"y":2}')]
