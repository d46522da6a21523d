"""The web request model: per site, per path, per parameter profiles of normal requests.

The model is the one of Kruegel and Vigna ("Anomaly Detection of Web-based Attacks", ACM
CCS 2003) in a compact form, because each of its features can be shown to an analyst
as it is: for every site (``url.domain`` and port) it learns the paths and the methods
used on them, the parameter names of each path, and for each parameter the lengths
(mean, spread, maximum), the character classes (digits, letters, non-ASCII bytes, and
each punctuation character by itself), the value shapes (runs of one class collapsed:
``a@a.a`` for an e-mail address) while they are few, and the values themselves while
they are a short list. Header field names are learnt per site. A parameter on a path
never seen is compared with the site-wide profile of that name (its peer group).

A request's score adds the contributions of what it does that the baseline never did
(see :data:`WEIGHTS`); the threshold is a quantile of the scores of a held-back slice
of the *training* requests, never of labelled attacks. Works on any event with
``url.*``/``http.request.*``: ``http.raw``, access logs (no body), ModSecurity audit logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from correlation.anomaly.explain import Reason
from correlation.anomaly.stats import Stats
from soc_core.event import get_field

SCHEMA: Final[dict[str, Any]] = {
    "kind": "web", "version": 2,
    "features": ["path.unseen", "method.unseen", "param.unknown", "param.chars", "param.length", "param.shape",
                 "param.value", "header.unknown"],
    "classes": "digit, letter, non-ASCII, each other byte by itself",
}
# Contribution of each finding to the score; a length beyond the longest value seen adds
# (excess / (spread + 1)), capped at MAX_LENGTH_SCORE.
WEIGHTS: Final[dict[str, float]] = {
    "path.unseen": 3.0, "method.unseen": 2.0, "param.unknown": 3.0, "param.chars": 2.0, "param.chars.each": 1.0,
    "param.shape": 1.5, "param.value": 2.0, "header.unknown": 1.0,
}
MAX_LENGTH_SCORE: Final = 10.0
MAX_SHAPES: Final = 40       # more distinct shapes than this: the parameter is free-form
MAX_VALUES: Final = 12       # more distinct values than this: not an enumeration
MIN_SUPPORT: Final = 30      # shape and value lists are trusted only after this many values
MAX_PATHS_PER_SITE: Final = 50_000  # bounds a model trained on hostile traffic
BODY_PARAM: Final = "(body)"
FORM: Final = "application/x-www-form-urlencoded"


def _class(byte: int) -> str:
    if 48 <= byte <= 57:
        return "d"
    if 65 <= byte <= 90 or 97 <= byte <= 122:
        return "a"
    if byte >= 128:
        return "h"
    return chr(byte)


_CLASS_NAMES: Final = {"d": "digits", "a": "letters", "h": "non-ASCII", " ": "space"}


def class_names(classes: Iterable[str]) -> str:
    return ", ".join(_CLASS_NAMES.get(c, repr(c)) for c in sorted(classes)) or "nothing"


def shape_of(value: bytes) -> str:
    out: list[str] = []
    for byte in value:
        c = _class(byte)
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _decode_component(text: str) -> bytes:
    return unquote_to_bytes(text.replace("+", " "))


def split_params(text: str) -> list[tuple[str, bytes]]:
    """``name=value&...`` as (name, decoded value bytes); a name without ``=`` has b""."""
    out: list[tuple[str, bytes]] = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out.append((_decode_component(name).decode("latin-1"), _decode_component(value)))
    return out


@dataclass(frozen=True)
class Request:
    """The parts of one request the model looks at."""

    site: str
    method: str
    path: str
    params: tuple[tuple[str, bytes], ...]
    headers: tuple[str, ...]


def _raw_target(event: Mapping[str, Any]) -> tuple[str, str]:
    """(path, query) undecoded: from ``url.original`` when present (so ``%26`` stays
    inside its value), else from the decoded ``url.path``/``url.query``."""
    original = get_field(event, "url.original")
    if isinstance(original, str) and original:
        target = original
        if "://" in target.split("?", 1)[0]:
            rest = target.split("://", 1)[1]
            slash = [i for i in (rest.find("/"), rest.find("?")) if i != -1]
            target = rest[min(slash):] if slash else "/"
        target = target.split("#", 1)[0]
        path, _, query = target.partition("?")
        return path or "/", query
    return str(get_field(event, "url.path") or "/"), str(get_field(event, "url.query") or "")


def request_of(event: Mapping[str, Any]) -> Request | None:
    """The request an event describes, or None when it has no URL or method."""
    method = get_field(event, "http.request.method")
    if method is None and get_field(event, "url.original") is None and get_field(event, "url.path") is None:
        return None
    domain = get_field(event, "url.domain") or get_field(event, "destination.domain") or get_field(
        event, "host.name") or "-"
    port = get_field(event, "url.port")
    site = f"{domain}:{port}" if port else str(domain)
    raw_path, query = _raw_target(event)
    params = split_params(query)
    body = get_field(event, "http.request.body.content")
    if isinstance(body, str) and body:
        mime = str(get_field(event, "http.request.mime_type") or "")
        if mime == FORM or (not mime and "=" in body and " " not in body.strip()):
            params.extend(split_params(body.strip()))
        else:
            params.append((BODY_PARAM, body.encode("utf-8", errors="replace")))
    headers = get_field(event, "http.request.headers")
    names = tuple(sorted(str(k).lower() for k in headers)) if isinstance(headers, Mapping) else ()
    path = _decode_component(raw_path).decode("latin-1")
    return Request(str(site), str(method or "-").upper(), path, tuple(params), names)


@dataclass
class ParamProfile:
    """What one parameter's values looked like in training."""

    lengths: Stats = field(default_factory=Stats)
    longest: int = 0
    classes: set[str] = field(default_factory=set)
    shapes: set[str] | None = field(default_factory=set)
    values: set[bytes] | None = field(default_factory=set)

    @property
    def count(self) -> int:
        return self.lengths.n

    def add(self, value: bytes) -> None:
        self.lengths.add(len(value))
        self.longest = max(self.longest, len(value))
        self.classes.update(_class(b) for b in set(value))
        if self.shapes is not None:
            self.shapes.add(shape_of(value))
            if len(self.shapes) > MAX_SHAPES:
                self.shapes = None
        if self.values is not None:
            self.values.add(value)
            if len(self.values) > MAX_VALUES:
                self.values = None

    def findings(self, name: str, value: bytes) -> Iterator[Reason]:
        new = {_class(b) for b in set(value)} - self.classes
        shown = value.decode("latin-1")
        if new:
            yield Reason("param.chars", name, shown, f"characters seen: {class_names(self.classes)}; new: "
                         f"{class_names(new)}", WEIGHTS["param.chars"] + WEIGHTS["param.chars.each"] * len(new))
        if len(value) > self.longest:
            excess = (len(value) - self.longest) / (self.lengths.std + 1.0)
            typical = f"length {self.lengths.mean:.0f} ± {self.lengths.std:.0f}, longest {self.longest}"
            yield Reason("param.length", name, len(value), typical, min(MAX_LENGTH_SCORE, excess))
        if self.shapes is not None and self.count >= MIN_SUPPORT and shape_of(value) not in self.shapes:
            yield Reason("param.shape", name, shown, f"{len(self.shapes)} shapes seen, e.g. "
                         f"{', '.join(sorted(self.shapes)[:5])}", WEIGHTS["param.shape"])
        if self.values is not None and self.count >= MIN_SUPPORT and value not in self.values:
            listed = ", ".join(sorted(v.decode("latin-1") for v in self.values)[:8])
            yield Reason("param.value", name, shown, f"known values: {listed}", WEIGHTS["param.value"])

    def to_json(self) -> dict[str, Any]:
        return {"lengths": self.lengths.to_json(), "longest": self.longest,
                "classes": sorted(self.classes),
                "shapes": sorted(self.shapes) if self.shapes is not None else None,
                "values": sorted(v.decode("latin-1") for v in self.values) if self.values is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ParamProfile:
        return cls(lengths=Stats.from_json(data["lengths"]), longest=data["longest"],
                   classes=set(data["classes"]),
                   shapes=set(data["shapes"]) if data["shapes"] is not None else None,
                   values={v.encode("latin-1") for v in data["values"]} if data["values"] is not None else None)


@dataclass
class PathProfile:
    count: int = 0
    methods: set[str] = field(default_factory=set)
    params: dict[str, ParamProfile] = field(default_factory=dict)


@dataclass
class SiteProfile:
    paths: dict[str, PathProfile] = field(default_factory=dict)
    params: dict[str, ParamProfile] = field(default_factory=dict)  # site-wide, per name: the peer group
    headers: set[str] = field(default_factory=set)
    paths_dropped: int = 0


class WebModel:
    """Learns per-site request profiles from normal traffic and scores requests against them."""

    kind = "web"

    def __init__(self) -> None:
        self.sites: dict[str, SiteProfile] = {}

    def learn(self, request: Request) -> None:
        site = self.sites.setdefault(request.site, SiteProfile())
        site.headers.update(request.headers)
        path = site.paths.get(request.path)
        if path is None:
            if len(site.paths) >= MAX_PATHS_PER_SITE:
                site.paths_dropped += 1
                return
            path = site.paths[request.path] = PathProfile()
        path.count += 1
        path.methods.add(request.method)
        for name, value in request.params:
            path.params.setdefault(name, ParamProfile()).add(value)
            site.params.setdefault(name, ParamProfile()).add(value)

    def explain(self, request: Request) -> list[Reason]:
        """Every finding of ``request`` against the baseline (empty: nothing unusual)."""
        site = self.sites.get(request.site)
        if site is None:
            return [Reason("path.unseen", request.path, request.site, f"site never seen; known sites: "
                           f"{', '.join(sorted(self.sites)[:5])}", WEIGHTS["path.unseen"])]
        reasons: list[Reason] = []
        path = site.paths.get(request.path)
        if path is None:
            reasons.append(Reason("path.unseen", request.path, request.path, f"{len(site.paths)} known paths",
                                  WEIGHTS["path.unseen"]))
        elif request.method not in path.methods:
            reasons.append(Reason("method.unseen", request.path, request.method,
                                  f"methods seen: {', '.join(sorted(path.methods))}", WEIGHTS["method.unseen"]))
        for name, value in request.params:
            profile = path.params.get(name) if path is not None else None
            if profile is None:
                profile = site.params.get(name) if path is None else None
            if profile is None:
                reasons.append(Reason("param.unknown", name, value.decode("latin-1"),
                                      "parameters seen here: " + ", ".join(sorted(
                                          path.params if path is not None else site.params)[:10]),
                                      WEIGHTS["param.unknown"]))
                continue
            reasons.extend(profile.findings(name, value))
        for header in request.headers:
            if header not in site.headers:
                reasons.append(Reason("header.unknown", header, header, f"{len(site.headers)} header names seen",
                                      WEIGHTS["header.unknown"]))
        return reasons

    def score(self, request: Request) -> tuple[float, list[Reason]]:
        reasons = self.explain(request)
        return sum(r.contribution for r in reasons), reasons

    # --- persistence ---------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"sites": {
            name: {"headers": sorted(site.headers), "paths_dropped": site.paths_dropped,
                   "params": {k: p.to_json() for k, p in sorted(site.params.items())},
                   "paths": {path: {"count": prof.count, "methods": sorted(prof.methods),
                                    "params": {k: p.to_json() for k, p in sorted(prof.params.items())}}
                             for path, prof in sorted(site.paths.items())}}
            for name, site in sorted(self.sites.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebModel:
        model = cls()
        for name, site in data["sites"].items():
            profile = SiteProfile(headers=set(site["headers"]), paths_dropped=site["paths_dropped"],
                                  params={k: ParamProfile.from_json(p) for k, p in site["params"].items()})
            for path, prof in site["paths"].items():
                profile.paths[path] = PathProfile(
                    count=prof["count"], methods=set(prof["methods"]),
                    params={k: ParamProfile.from_json(p) for k, p in prof["params"].items()})
            model.sites[name] = profile
        return model

