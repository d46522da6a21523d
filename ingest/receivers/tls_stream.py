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
    """What the TCP receiver reads from: ``b""`` is the end of the stream, which was the
    sender's orderly end when ``ended_in_order`` is then True."""

    ended_in_order: bool

    async def read(self, n: int) -> bytes: ...

    async def close_orderly(self) -> None: ...


class PlainStream:
    """Plain TCP: end of stream is the sender's half-close (FIN)."""

    ended_in_order = True

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, n: int) -> bytes:
        return await self._reader.read(n)

    async def close_orderly(self) -> None:
        return None  # the FIN of the close that follows is the whole answer


class TlsStream:
    """Server-side TLS over a plain asyncio stream (``ssl.MemoryBIO``).

    End of stream is the client's ``close_notify``. A TCP end without it is a truncation
    (RFC 8446 6.1): the stream ends too (what came before was authenticated, and senders
    that just close their socket are common), but ``ended_in_order`` stays False, so the
    receiver resets instead of acknowledging."""

    ended_in_order = False

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
                data = await self._reader.read(chunk_bytes)
                if not data:
                    raise ConnectionResetError("connection closed during the TLS handshake") from None
                self._incoming.write(data)
                continue
            await self._flush()
            return

    async def read(self, n: int) -> bytes:
        while True:
            try:
                data = self._tls.read(n)
                if not data:  # how the ssl module reports the client's close_notify
                    self.ended_in_order = True
                return data
            except ssl.SSLWantReadError:
                await self._flush()  # TLS 1.3 may have something to say (key updates)
                data = await self._reader.read(n)
                if not data:
                    return b""  # a truncation: see the class docstring
                self._incoming.write(data)
            except ssl.SSLZeroReturnError:  # the same, reported as an error
                self.ended_in_order = True
                return b""

    async def close_orderly(self) -> None:
        """Send the server's close_notify (call once everything read is queued)."""
        # SSLWantReadError: the client's close_notify came first; ours is written below.
        with contextlib.suppress(ssl.SSLWantReadError):
            self._tls.unwrap()
        await self._flush()

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._writer.write(data)
            await self._writer.drain()
