"""Ingest: receivers, the durable queue, the processing pipeline and the running service.

``BUILTIN_RECEIVERS`` is read by :mod:`soc_core.registry` (kind ``receiver``).
"""

BUILTIN_RECEIVERS: dict[str, str] = {
    "syslog_udp": "ingest.receivers.syslog_udp:SyslogUdpReceiver",
    "syslog_tcp": "ingest.receivers.syslog_tcp:SyslogTcpReceiver",
    "syslog_tls": "ingest.receivers.syslog_tls:SyslogTlsReceiver",
    "http": "ingest.receivers.http:HttpReceiver",
    "file_tail": "ingest.receivers.file_tail:FileTailReceiver",
}
