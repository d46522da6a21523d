"""URL splitting as Elasticsearch's ``uri_parts`` processor does it (``url.*``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def uri_parts(url: str) -> dict[str, Any]:
    """``url.original``, ``scheme``, ``domain``, ``port``, ``path``, ``query``,
    ``fragment``, ``extension``, ``username``/``password`` of an absolute URL;
    ``{}`` when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return {}
    if not parts.scheme or not parts.netloc:
        return {}
    out: dict[str, Any] = {"original": url, "scheme": parts.scheme}
    if parts.hostname:
        out["domain"] = parts.hostname
    if port is not None:
        out["port"] = port
    if parts.path:
        out["path"] = parts.path
        last = parts.path.rsplit("/", 1)[-1]
        if "." in last:
            out["extension"] = last.rsplit(".", 1)[1]
    if parts.query:
        out["query"] = parts.query
    if parts.fragment:
        out["fragment"] = parts.fragment
    if parts.username:
        out["username"] = parts.username
    if parts.password:
        out["password"] = parts.password
    return out
