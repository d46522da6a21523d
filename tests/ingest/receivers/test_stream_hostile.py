"""Hostile stream input (issue 21, items 8, 9, 10, 11) against real sockets and a real
durable queue: TLS close_notify answered in order, connection caps, idle connections,
huge octet counts, over-long lines marked as truncated, UDP memory bounded in bytes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.metrics import Metrics
from ingest.queue import DurableQueue
from ingest.receivers.syslog_tcp import SyslogTcpReceiver
from ingest.receivers.syslog_tls import SyslogTlsReceiver
from ingest.receivers.syslog_udp import SyslogUdpReceiver
from parsers.linux.system import SystemSyslogParser
from tests.ingest.receivers.certs import Pki, make_pki
from tests.ingest.receivers.helpers import drain, new_queue, wait_until
from tests.ingest.receivers.test_syslog_tcp import send_and_close

MSG = b"<34>1 2026-11-22T12:00:00Z fw1 app - - - over tls"
FRAMED = str(len(MSG)).encode() + b" " + MSG


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def serve(receiver: SyslogTcpReceiver, queue: DurableQueue, scenario: Callable[[int], Awaitable[None]]) -> None:
    async def main() -> None:
        await receiver.start(queue)
        assert receiver.bound_port
        task = asyncio.create_task(receiver.run(queue))
        try:
            await scenario(receiver.bound_port)
        finally:
            await receiver.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)

    asyncio.run(main())


def tls_send_and_unwrap(port: int, pki: Pki, payload: bytes, queue: DurableQueue) -> tuple[int, bytes]:
    """A blocking Python ssl client: send, close_notify, wait for the server's, then
    read the TCP end. Returns the queue depth when the server's close_notify came."""
    context = ssl.create_default_context(cafile=str(pki.ca))
    with (socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
          context.wrap_socket(raw, server_hostname="127.0.0.1") as tls):
        tls.sendall(payload)
        plain = tls.unwrap()  # raises if the server resets instead of answering in order
        depth = queue.depth
        return depth, plain.recv(10)


def test_tls_close_notify_is_answered_in_order_after_the_lines_are_queued(tmp_path: Path, pki: Pki) -> None:
    """Item 8: the documented acknowledgement is observable by a normal TLS client."""
    queue = new_queue(tmp_path)
    receiver = SyslogTlsReceiver("127.0.0.1", 0, str(pki.server_cert), str(pki.server_key))
    outcome: list[tuple[int, bytes]] = []

    async def scenario(port: int) -> None:
        outcome.append(await asyncio.to_thread(tls_send_and_unwrap, port, pki, FRAMED * 500, queue))

    serve(receiver, queue, scenario)
    assert outcome == [(500, b"")]  # everything queued before the close_notify; then a FIN, no reset
    assert [e.data for e in drain(queue)] == [MSG] * 500
    queue.close()


def test_openssl_s_client_sees_an_orderly_close(tmp_path: Path, pki: Pki) -> None:
    queue = new_queue(tmp_path)
    receiver = SyslogTlsReceiver("127.0.0.1", 0, str(pki.server_cert), str(pki.server_key))
    result: list[subprocess.CompletedProcess[bytes]] = []

    async def scenario(port: int) -> None:
        result.append(await asyncio.to_thread(
            subprocess.run, ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki.ca),
                             "-verify_return_error", "-quiet", "-no_ign_eof"],
            input=FRAMED * 3, capture_output=True, timeout=20, check=False))
        await wait_until(lambda: queue.depth == 3)

    serve(receiver, queue, scenario)
    assert result[0].returncode == 0, result[0].stderr
    assert b"errno=104" not in result[0].stderr and b"reset" not in result[0].stderr.lower()
    assert [e.data for e in drain(queue)] == [MSG] * 3
    queue.close()


def test_a_tls_stream_cut_without_close_notify_is_not_acknowledged(tmp_path: Path, pki: Pki) -> None:
    queue = new_queue(tmp_path)
    receiver = SyslogTlsReceiver("127.0.0.1", 0, str(pki.server_cert), str(pki.server_key))

    def cut(port: int) -> bytes:
        context = ssl.create_default_context(cafile=str(pki.ca))
        with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                 server_hostname="127.0.0.1") as tls:
            tls.sendall(FRAMED)
            tls.shutdown(socket.SHUT_WR)  # a TCP FIN with no close_notify: a truncation
            try:  # now a plain socket: read the server's bytes (session tickets) to the end
                for _ in range(1000):
                    if not tls.recv(4096):
                        return b"orderly end"
            except ConnectionResetError:
                return b"reset"
            return b"no end"

    got: list[bytes] = []

    async def scenario(port: int) -> None:
        got.append(await asyncio.to_thread(cut, port))

    serve(receiver, queue, scenario)
    assert got == [b"reset"]
    queue.close()


def test_tcp_connections_over_the_per_address_cap_are_reset_and_counted(tmp_path: Path) -> None:
    """Item 9: a host cannot take every descriptor; the others keep their slots."""
    queue = new_queue(tmp_path)
    metrics = Metrics()
    receiver = SyslogTcpReceiver("127.0.0.1", 0, metrics=metrics, max_connections_per_address=3)

    async def scenario(port: int) -> None:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await wait_until(lambda: receiver.guard.total == 3)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with contextlib.suppress(ConnectionResetError):
            assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        for _, w in held:
            w.close()
        await wait_until(lambda: receiver.guard.total == 0)
        await send_and_close(port, b"<13>after the cap\n")

    serve(receiver, queue, scenario)
    assert metrics.value("soc_receiver_refused_connections_total", receiver=receiver.name,
                         reason="max_connections_per_address") == 1
    assert [e.data for e in drain(queue)] == [b"<13>after the cap"]
    queue.close()


def test_an_idle_tcp_connection_is_reset_and_its_partial_line_not_queued(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    metrics = Metrics()
    receiver = SyslogTcpReceiver("127.0.0.1", 0, metrics=metrics, idle_timeout_secs=0.3)

    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"<13>complete\n<13>partial, never fini")
        await writer.drain()
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(), 5)
        writer.close()

    serve(receiver, queue, scenario)
    assert metrics.value("soc_receiver_timeouts_total", receiver=receiver.name, reason="idle") == 1
    assert [e.data for e in drain(queue)] == [b"<13>complete"]
    queue.close()


def test_huge_octet_counts_and_long_lines_are_cut_counted_and_marked(tmp_path: Path) -> None:
    """Item 11: nothing swallowed, the cut events say so, the counters show it."""
    queue = new_queue(tmp_path)
    metrics = Metrics()
    receiver = SyslogTcpReceiver("127.0.0.1", 0, metrics=metrics, max_frame_bytes=4096)
    lines = [b"<13>Nov 22 12:00:00 h app: line %d" % i for i in range(100)]
    long_line = b"<13>Nov 22 12:00:00 h app: " + b"x" * 100_000

    async def scenario(port: int) -> None:
        await send_and_close(port, b"999999999 <13>Nov 22 12:00:00 h app: bogus\n" + b"\n".join(lines) + b"\n"
                             + long_line + b"\n")

    serve(receiver, queue, scenario)
    events = drain(queue)
    assert [e.data for e in events[:101]] == [b"<13>Nov 22 12:00:00 h app: bogus", *lines]
    cut = events[101]
    assert len(cut.data) == 4096 and cut.extra["truncated_from"] == len(long_line)
    assert metrics.value("soc_receiver_errors_total", receiver=receiver.name, reason="octet_count_over_limit") == 1
    assert metrics.value("soc_receiver_truncated_total", receiver=receiver.name) == 1
    assert metrics.value("soc_receiver_discarded_bytes_total", receiver=receiver.name) == len(long_line) - 4096
    event = SystemSyslogParser().parse(cut)
    assert event["log"]["flags"] == ["truncated"] and event["log"]["original_length"] == len(long_line)
    assert len(event["event"]["original"].encode()) == 4096
    queue.close()


def test_udp_buffer_is_bounded_in_bytes(tmp_path: Path) -> None:
    """Item 10: 64 KB datagrams fill the byte budget long before the datagram count."""
    queue = new_queue(tmp_path, max_events=1)
    queue.put_sync([_raw()])  # full: nothing leaves the receiver's buffer
    metrics = Metrics()
    receiver = SyslogUdpReceiver("127.0.0.1", 0, metrics=metrics, max_buffered_bytes=1 << 20)

    async def main() -> None:
        await receiver.start(queue)
        task = asyncio.create_task(receiver.run(queue))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            for _ in range(40):
                sock.sendto(b"<13>" + b"z" * 60_000, ("127.0.0.1", receiver.bound_port or 0))
                await asyncio.sleep(0.001)
        await wait_until(lambda: metrics.value("soc_receiver_received_total", receiver=receiver.name) >= 20)
        assert receiver._buffered_bytes <= 1 << 20
        await receiver.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    dropped = sum(metrics.snapshot()["soc_receiver_dropped_total"].values())
    assert dropped >= 20
    queue.close()


def _raw() -> object:
    from soc_core.event import RawEvent

    return RawEvent.from_bytes(b"x", "test", datetime.now(UTC))
