"""The service in one process: the port-to-parser map, the worker storing and
acknowledging, store outages retried without loss, metrics, graceful stop."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from ingest.metrics import parse_text
from ingest.queue import DurableQueue
from ingest.receivers.syslog_tcp import SyslogTcpReceiver
from ingest.service import METRICS_FILE, Service, ServiceOptions
from soc_api.commands._common import make_parser
from soc_core.contracts import Store
from soc_core.query import MatchAll, parse_query
from soc_store.elasticsearch import ElasticsearchStore
from soc_store.sqlite import SqliteStore
from tests.ingest.receivers.helpers import wait_until
from tests.soc_store.fault_proxy import fault_proxy
from tests.soc_store.osmem import osmem_server  # noqa: F401 - a session fixture, used by name

SYSLOG = b"<38>Nov 22 12:00:01 web1 sshd[42]: Accepted password for alice from 10.0.0.9 port 5000 ssh2"
FORTI = (b'<189>date=2026-11-22 time=12:00:00 devname="FG1" devid="FG100" logid="0000000013" '
         b'type="traffic" subtype="forward" level="notice" srcip=10.0.0.1 dstip=8.8.8.8 action="accept"')
_prefixes = itertools.count()


async def send(port: int, payload: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # everything queued
    writer.close()
    await writer.wait_closed()


def test_each_port_is_parsed_by_its_parser(tmp_path: Path) -> None:
    syslog_port = SyslogTcpReceiver("127.0.0.1", 0, parser="system.syslog")
    forti_port = SyslogTcpReceiver("127.0.0.1", 0, parser="fortinet.firewall")
    store_path = tmp_path / "store.db"
    service = Service([syslog_port, forti_port], DurableQueue(tmp_path / "q.db"),
                      lambda: SqliteStore(store_path), make_parser, default_parser="system.syslog",
                      data_dir=tmp_path, options=ServiceOptions(metrics_interval_secs=0.05))
    reader = SqliteStore(store_path)

    async def scenario() -> None:
        await service.start()
        assert syslog_port.bound_port and forti_port.bound_port
        await send(syslog_port.bound_port, SYSLOG + b"\n" + FORTI + b"\n")
        await send(forti_port.bound_port, FORTI + b"\n")
        await wait_until(lambda: sum(reader.count(c, MatchAll()) for c in ("events", "dead_letters")) == 3)
        await service.stop()

    asyncio.run(scenario())
    events = reader.search("events", MatchAll()).events
    assert sorted(e["event"]["dataset"] for e in events) == ["fortinet.firewall", "system.syslog"]
    assert all(e["log"]["source"]["address"].startswith("127.0.0.1:") for e in events)
    letters = reader.search("dead_letters", MatchAll()).events
    assert [(d["error"]["type"], d["event"]["original"]) for d in letters] == [("system.syslog", FORTI.decode())]
    metrics = parse_text((tmp_path / METRICS_FILE).read_text())
    assert metrics["soc_pipeline_events_total"][(("outcome", "stored"),)] == 3
    assert metrics["soc_queue_depth"][()] == 0
    assert metrics["soc_parser_events_total"][(("outcome", "parsed"), ("parser", "fortinet.firewall"))] == 1
    reader.close()


def test_a_store_outage_is_retried_and_nothing_is_lost_or_doubled(tmp_path: Path, osmem_server: str) -> None:  # noqa: F811
    receiver = SyslogTcpReceiver("127.0.0.1", 0, parser="system.syslog")
    lines = [SYSLOG.replace(b"port 5000", f"port {i}".encode()) for i in range(300)]
    prefix = f"soc-svc-{next(_prefixes)}"
    with fault_proxy(osmem_server) as proxy:
        proxy.faults += [("_bulk", 503)] * 3

        def open_es() -> Store:
            return ElasticsearchStore(proxy.url, index_prefix=prefix, max_attempts=1)

        service = Service([receiver], DurableQueue(tmp_path / "q.db"), open_es, make_parser,
                          options=ServiceOptions(batch_size=100))
        check = ElasticsearchStore(osmem_server, index_prefix=prefix)

        async def scenario() -> None:
            await service.start()
            assert receiver.bound_port
            await send(receiver.bound_port, b"\n".join(lines) + b"\n")
            await wait_until(lambda: check.count("events", parse_query("*")) >= 300, timeout_secs=60)
            await service.stop()

        asyncio.run(scenario())
        assert check.count("events", parse_query("*")) == 300
        assert service.metrics.value("soc_worker_store_errors_total") == 3
        assert [s for p, s in proxy.seen if "_bulk" in p][:3] == [503, 503, 503]
        check.close()


def test_an_unknown_parser_on_a_port_stops_nothing_but_dead_letters(tmp_path: Path) -> None:
    receiver = SyslogTcpReceiver("127.0.0.1", 0, parser="no.such.parser")
    store_path = tmp_path / "store.db"
    service = Service([receiver], DurableQueue(tmp_path / "q.db"), lambda: SqliteStore(store_path), make_parser)
    reader = SqliteStore(store_path)

    async def scenario() -> None:
        await service.start()
        assert receiver.bound_port
        await send(receiver.bound_port, SYSLOG + b"\n")
        await wait_until(lambda: reader.count("dead_letters", MatchAll()) == 1)
        await service.stop()

    asyncio.run(scenario())
    letter = reader.search("dead_letters", MatchAll()).events[0]
    assert "unknown parser" in letter["error"]["message"]
    reader.close()


def test_a_store_that_cannot_open_stops_the_start(tmp_path: Path) -> None:
    def broken() -> Store:
        raise OSError("disk on fire")

    service = Service([], DurableQueue(tmp_path / "q.db"), broken, make_parser)
    with pytest.raises(OSError, match="disk on fire"):
        asyncio.run(service.start())


def test_a_port_in_use_stops_the_start_and_releases_the_rest(tmp_path: Path) -> None:
    from soc_core.errors import ReceiverError

    first = SyslogTcpReceiver("127.0.0.1", 0)
    service = Service([first], DurableQueue(tmp_path / "q1.db"), lambda: SqliteStore(tmp_path / "s.db"), make_parser)

    async def scenario() -> None:
        await service.start()
        assert first.bound_port
        clash = SyslogTcpReceiver("127.0.0.1", first.bound_port)
        other = Service([clash], DurableQueue(tmp_path / "q2.db"), lambda: SqliteStore(tmp_path / "s2.db"),
                        make_parser)
        with pytest.raises(ReceiverError, match="cannot listen"):
            await other.start()
        assert other._worker is not None and not other._worker.is_alive()
        await service.stop()

    asyncio.run(scenario())
