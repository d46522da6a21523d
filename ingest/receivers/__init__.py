"""Receivers: network and file inputs that hand raw events to the durable queue.

Each module is one protocol (``syslog_udp``, ``syslog_tcp``, ``syslog_tls``, ``http``,
``file_tail``) and satisfies :class:`soc_core.contracts.Receiver`.
"""
