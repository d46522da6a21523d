"""Syslog over TLS (RFC 5425): the TCP receiver behind a server certificate.

RFC 5425 frames with octet counting; the TCP framer also accepts newline framing, which
some senders use over TLS. With ``client_ca`` set, a client must present a certificate
signed by that CA (mutual TLS); otherwise any client may connect. TLS 1.2 is the minimum.
"""

from __future__ import annotations

import ssl
from typing import Any

from ingest.receivers.syslog_tcp import SyslogTcpReceiver
from soc_core.errors import ReceiverError


def server_context(cert_file: str, key_file: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server-side TLS context; ``client_ca`` turns on the client-certificate check."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
        if client_ca:
            context.load_verify_locations(client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise ReceiverError(f"syslog TLS: cannot load certificates: {exc}") from exc
    return context


class SyslogTlsReceiver(SyslogTcpReceiver):
    """The TCP receiver with TLS; the same framing, identity and acknowledgement rules."""

    scheme = "syslog+tls"

    def __init__(self, host: str, port: int, cert_file: str, key_file: str,
                 client_ca: str | None = None, **kw: Any) -> None:
        super().__init__(host, port, ssl_context=server_context(cert_file, key_file, client_ca), **kw)
