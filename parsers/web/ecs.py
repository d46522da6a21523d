"""ECS mapping helpers shared by the web parsers: URLs, user agents, HTTP outcome, addresses.

Each helper reproduces what the processor of Elastic's ingest pipelines does for the same
field (``uri_parts``, ``user_agent``, ``convert`` to ``ip``, the ``event.outcome`` script),
so events from our parsers line up with those Filebeat and Elastic Agent produce.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Final
from urllib.parse import unquote, unquote_plus

from ua_parser import parse as parse_user_agent

from soc_core.event import Event

# Characters java.net.URI refuses anywhere in a URI: Elastic's uri_parts then fails and
# leaves only url.original, and so do we.
_URI_ILLEGAL: Final = re.compile(r'[\x00-\x20"<>\\^`{|}\x7f]|%(?![0-9A-Fa-f]{2})')
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_AUTHORITY: Final = re.compile(r"^(?:(?P<userinfo>[^@/]*)@)?(?P<host>\[[^\]]*\]|[^:/]*)(?::(?P<port>\d*))?$")


def _decode(text: str) -> str:
    # java.net.URI decodes %XX escapes as UTF-8 in getPath()/getQuery().
    return unquote(text, errors="replace")


def split_url(original: str) -> dict[str, Any]:
    """``url.*`` fields from a request target, as Elastic's ``uri_parts`` processor does.

    Returns the dotted ECS paths relative to ``url`` (``path``, ``query``, ...). A target
    that is not a valid URI gives ``{}`` (Elastic keeps only ``url.original`` then).
    """
    return dict(_split_url(original))


@lru_cache(maxsize=8192)  # the same few paths come back again and again in web logs
def _split_url(original: str) -> tuple[tuple[str, Any], ...]:
    return tuple(_split_url_uncached(original).items())


def _split_url_uncached(original: str) -> dict[str, Any]:
    if not original or _URI_ILLEGAL.search(original):
        return {}
    out: dict[str, Any] = {}
    rest = original
    if _SCHEME.match(rest):
        scheme, rest = rest.split(":", 1)
        out["scheme"] = scheme
        if rest.startswith("//"):
            rest = rest[2:]
            end = len(rest)
            for sep in "/?#":
                pos = rest.find(sep)
                if pos != -1 and pos < end:
                    end = pos
            authority, rest = rest[:end], rest[end:]
            m = _AUTHORITY.match(authority)
            if m is None:
                return {}
            host = m.group("host")
            if host:
                out["domain"] = host.strip("[]")
            if m.group("port"):
                out["port"] = int(m.group("port"))
            userinfo = m.group("userinfo")
            if userinfo:
                out["user_info"] = userinfo
                user, _, password = userinfo.partition(":")
                out["username"] = user
                if password:
                    out["password"] = password
    fragment_at = rest.find("#")
    if fragment_at != -1:
        if rest[fragment_at + 1:]:
            out["fragment"] = _decode(rest[fragment_at + 1:])
        rest = rest[:fragment_at]
    query_at = rest.find("?")
    if query_at != -1:
        if rest[query_at + 1:]:
            out["query"] = _decode(rest[query_at + 1:])
        rest = rest[:query_at]
    path = _decode(rest)
    if path:
        out["path"] = path
        # Elastic takes everything after the last dot of the whole path, on purpose
        # compatible with its output even when the dot sits in a directory name.
        dot = path.rfind(".")
        if dot != -1:
            out["extension"] = path[dot + 1:]
    return out


def url_fields(original: str) -> dict[str, Any]:
    """A new ``url`` object: ``original`` and the parts ``uri_parts`` derives from it."""
    return dict(_url_items(original))


@lru_cache(maxsize=8192)
def _url_items(original: str) -> tuple[tuple[str, Any], ...]:
    # ``url_fields`` as cached pairs: one dict() of them per event, no update step.
    return (("original", original), *_split_url(original))


def set_url(event: Event, original: str, *, with_original: bool = True) -> None:
    """Set ``url.original`` and the parts ``uri_parts`` derives from it."""
    url: dict[str, Any] = event.setdefault("url", {})
    if with_original:
        url["original"] = original
    url.update(_split_url(original))


def decode_query(text: str) -> str:
    """Form-decode a query string (``+`` is a space), as Elastic's ``urldecode`` does."""
    return unquote_plus(text, errors="replace")


def _version(*parts: str | None) -> str | None:
    # Elastic joins major.minor.patch.build and stops at the first missing part.
    out: list[str] = []
    for part in parts:
        if part is None:
            break
        out.append(part)
    return ".".join(out) if out else None


def _user_agent_fields(original: str) -> tuple[tuple[str, str], ...]:
    result = parse_user_agent(original)
    fields: list[tuple[str, str]] = []
    ua = result.user_agent
    fields.append(("name", ua.family if ua is not None else "Other"))
    if ua is not None:
        version = _version(ua.major, ua.minor, ua.patch, ua.patch_minor)
        if version:
            fields.append(("version", version))
    device = result.device
    fields.append(("device", device.family if device is not None else "Other"))
    os = result.os
    if os is not None and os.family != "Other":
        fields.append(("os.name", os.family))
        os_version = _version(os.major, os.minor, os.patch, os.patch_minor)
        if os_version:
            fields.append(("os.version", os_version))
            fields.append(("os.full", f"{os.family} {os_version}"))
    return tuple(fields)


@lru_cache(maxsize=1)  # run once per process
def warm_up_user_agents() -> None:
    """Compile the user-agent regexes once per process, outside the per-line path."""
    parse_user_agent("Mozilla/5.0")


@lru_cache(maxsize=4096)
def _user_agent_parts(original: str) -> tuple[str, str | None, str, tuple[tuple[str, str], ...]]:
    # (name, version, device name, os pairs): the nested shape decided once per agent, so
    # that building the event's objects below is only a few dict displays.
    name, version, device = "Other", None, "Other"
    os: list[tuple[str, str]] = []
    for path, value in _user_agent_fields(original):
        if path == "name":
            name = value
        elif path == "version":
            version = value
        elif path == "device":
            device = value
        else:
            os.append((path[3:], value))
    return name, version, device, tuple(os)


def user_agent(original: str) -> dict[str, Any]:
    """A new ``user_agent`` object from the header text (parse cached: logs repeat agents)."""
    name, version, device, os = _user_agent_parts(original)
    ua: dict[str, Any] = {"original": original, "name": name}
    if version:
        ua["version"] = version
    ua["device"] = {"name": device}
    if os:
        ua["os"] = dict(os)
    return ua


def set_user_agent(event: Event, original: str) -> None:
    """``user_agent.*`` from the header text (results cached: logs repeat their agents)."""
    event["user_agent"] = user_agent(original)


def outcome(status: int) -> str:
    """``event.outcome`` from an HTTP status, as Elastic's web pipelines compute it."""
    return "failure" if status >= 400 else "success"


@lru_cache(maxsize=8192)
def as_ip(text: str) -> str | None:
    """The IP address in ``text`` (an IPv6 zone such as ``%0`` dropped), else ``None``."""
    candidate = text.split("%", 1)[0]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return None
    return candidate


@lru_cache(maxsize=8192)
def is_private(text: str) -> bool:
    """True for private, loopback and link-local addresses (not routable on the Internet)."""
    ip = as_ip(text)
    if ip is None:
        return False
    addr = ipaddress.ip_address(ip)
    return addr.is_private or addr.is_loopback or addr.is_link_local


def add_ip(event: Event, value: str | None) -> None:
    """Append to ``related.ip`` keeping repeats, as Elastic's ``append`` processors do."""
    if value:
        event.setdefault("related", {}).setdefault("ip", []).append(value)


def set_endpoint(event: Event, side: str, address: str, *, related: bool = True) -> str | None:
    """``<side>.address`` and, when it is an IP, ``<side>.ip`` (and ``related.ip``)."""
    ip = as_ip(address)
    endpoint: dict[str, Any] | None = event.get(side)
    if endpoint is None:  # mostly: built whole rather than key by key (a hot path)
        event[side] = {"address": address} if ip is None else {"address": address, "ip": ip}
    else:
        endpoint["address"] = address
        if ip is not None:
            endpoint["ip"] = ip
    if ip is not None and related:
        add_ip(event, ip)
    return ip


def tls_from_protocol(event: Event, protocol: str, cipher: str | None) -> None:
    """``tls.version``/``tls.version_protocol`` from ``TLSv1.2``-style text."""
    tls: dict[str, Any] = event.setdefault("tls", {})
    name, _, version = protocol.partition("v")
    if version:
        tls["version"] = version
        tls["version_protocol"] = name.lower()
    if cipher:
        tls["cipher"] = cipher


def web_kind(event: Event, category: list[str], types: list[str] | None = None) -> None:
    """Set ``event.category``/``event.type`` lists."""
    ev = event["event"]
    ev["category"] = category
    if types:
        ev["type"] = types
