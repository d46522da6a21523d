"""Syslog over TLS (RFC 5425) against real TLS sockets: server certificate checked by the
client, client certificates checked by the server when a client CA is configured."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from ingest.receivers.syslog_tls import SyslogTlsReceiver
from soc_core.errors import ReceiverError
from tests.ingest.receivers.certs import Pki, make_pki
from tests.ingest.receivers.helpers import drain, new_queue


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def client_context(pki: Pki, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


async def send(port: int, context: ssl.SSLContext, payload: bytes) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.write(payload)
    await writer.drain()
    # TLS has no half-close: wait for the data to be queued, then close.
    writer.close()
    await writer.wait_closed()


def run_tls(tmp_path: Path, pki: Pki, client_ca: Path | None, cert: Path | None, key: Path | None,
            payload: bytes) -> tuple[list[bytes], BaseException | None]:
    queue = new_queue(tmp_path)
    error: BaseException | None = None

    async def scenario() -> None:
        nonlocal error
        receiver = SyslogTlsReceiver("127.0.0.1", 0, str(pki.server_cert), str(pki.server_key),
                                     str(client_ca) if client_ca else None)
        await receiver.start(queue)
        assert receiver.bound_port
        task = asyncio.create_task(receiver.run(queue))
        try:
            await asyncio.wait_for(send(receiver.bound_port, client_context(pki, cert, key), payload), 10)
        except (ssl.SSLError, ConnectionError) as exc:
            error = exc
        for _ in range(200):  # the server side finishes queueing after the client closed
            if queue.depth:
                break
            await asyncio.sleep(0.01)
        await receiver.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    events = drain(queue)
    queue.close()
    assert all(e.source == "syslog+tls://127.0.0.1" for e in events)
    return [e.data for e in events], error


MSG = b"<34>1 2026-11-22T12:00:00Z fw1 app - - - over tls"
FRAMED = str(len(MSG)).encode() + b" " + MSG


def test_octet_counted_messages_over_tls(tmp_path: Path, pki: Pki) -> None:
    got, error = run_tls(tmp_path, pki, None, None, None, FRAMED * 3)
    assert error is None
    assert got == [MSG] * 3


def test_client_certificate_from_the_trusted_ca_is_accepted(tmp_path: Path, pki: Pki) -> None:
    got, error = run_tls(tmp_path, pki, pki.ca, pki.client_cert, pki.client_key, FRAMED)
    assert error is None and got == [MSG]


@pytest.mark.parametrize("which", ["none", "rogue"])
def test_missing_or_untrusted_client_certificate_is_refused(tmp_path: Path, pki: Pki, which: str) -> None:
    cert, key = (None, None) if which == "none" else (pki.rogue_cert, pki.rogue_key)
    # With TLS 1.3 the client may learn of the refusal only later, so the client-side
    # error is not asserted; what matters is that nothing it sent was queued.
    got, _ = run_tls(tmp_path, pki, pki.ca, cert, key, FRAMED)
    assert got == []


def test_unreadable_certificates_stop_the_start(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ReceiverError, match="cannot load certificates"):
        SyslogTlsReceiver("127.0.0.1", 0, str(tmp_path / "bad.pem"), str(tmp_path / "bad.pem"))
