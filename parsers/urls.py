"""Split a URL into ECS ``url.*`` fields (scheme, domain, port, path, query, extension).

Used by parsers whose logs carry full URLs (Cisco ASA URL filtering, FTD, proxies), the
way Elastic's ``uri_parts`` ingest processor fills them. Never raises.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from soc_core.event import Event


def apply_url(event: Event, original: str) -> None:
    """Add ``url.scheme/domain/port/path/query/extension/fragment`` next to ``url.original``."""
    try:
        parts = urlsplit(original)
        port = parts.port
    except ValueError:
        return
    url = event.setdefault("url", {})
    url["original"] = original
    if parts.scheme:
        url["scheme"] = parts.scheme
    if parts.hostname:
        url["domain"] = parts.hostname
    if port is not None:
        url["port"] = port
    url["path"] = parts.path  # "" for "http://host", as Elastic's uri_parts gives
    if parts.path:
        last = parts.path.rsplit("/", 1)[-1]
        if "." in last and not last.endswith("."):
            url["extension"] = last.rsplit(".", 1)[-1].lower()
    if parts.query:
        url["query"] = parts.query
    if parts.fragment:
        url["fragment"] = parts.fragment
    if parts.username:
        url["username"] = parts.username
