"""Byte streams for the stream receivers: plain TCP, and TLS done over memory BIOs.

Why not asyncio's own TLS: when the client sends its ``close_notify``, asyncio's SSL
transport answers with its own ``close_notify`` and closes the connection at once,
before the receiver has queued the last lines. The acknowledgement rule of the TCP
receiver (an orderly close only once everything read is queued; a reset otherwise)
then cannot hold: the client saw a reset after a proper close (the socket still had
``SO_LINGER`` 0), and an orderly answer would have come too early anyway. Here the
receiver decides: :meth:`TlsStream.read` returns ``b""`` on the client's close_notify,
and :meth:`TlsStream.close_orderly` sends the server's close_notify once the last frame
is queued; the TCP close that follows is then orderly (FIN).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Protocol


class ByteStream(Protocol):
    """What the TCP receiver reads from: ``b""`` means the sender's orderly end."""

    async def read(self, n: int) -> bytes: ...

    async def close_orderly(self) -> None: ...


class PlainStream:
    """Plain TCP: end of stream is the sender's half-close (FIN)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, n: int) -> bytes:
        return await self._reader.read(n)

    async def close_orderly(self) -> None:
        return None  # the FIN of the close that follows is the whole answer


class TlsStream:
    """Server-side TLS over a plain asyncio stream (``ssl.MemoryBIO``).

    End of stream is the client's ``close_notify``; a TCP end without it is a
    truncation (RFC 5246 7.2.1, RFC 8446 6.1) and raises ``ConnectionResetError``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 context: ssl.SSLContext) -> None:
        self._reader = reader
        self._writer = writer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)

    async def handshake(self, chunk_bytes: int) -> None:
        """Complete the handshake (the caller bounds it in time)."""
        while True:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill(chunk_bytes)
                continue
            await self._flush()
            return

    async def read(self, n: int) -> bytes:
        while True:
            try:
                return self._tls.read(n)
            except ssl.SSLWantReadError:
                await self._flush()  # TLS 1.3 may have something to say (key updates)
                await self._fill(n)
            except ssl.SSLZeroReturnError:
                return b""  # the client's close_notify: an orderly end

    async def close_orderly(self) -> None:
        """Send the server's close_notify (call once everything read is queued)."""
        # SSLWantReadError: the client's close_notify came first; ours is written below.
        with contextlib.suppress(ssl.SSLWantReadError):
            self._tls.unwrap()
        await self._flush()

    async def _fill(self, n: int) -> None:
        data = await self._reader.read(n)
        if not data:
            raise ConnectionResetError("TLS connection closed without close_notify")
        self._incoming.write(data)

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._writer.write(data)
            await self._writer.drain()
