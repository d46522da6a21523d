"""Grok pattern libraries and compiled patterns: the hot path of every text parser.

A :class:`GrokLibrary` holds named definitions read from ``*.grok`` files (through the
pyparsing grammar in :mod:`parsers.grok.grammar`). ``compile`` expands a pattern into ONE
anchored Python regular expression; :meth:`GrokPattern.match` is then a single
``re.fullmatch`` plus a loop over the capture slots, so a line costs one regex run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from parsers.grok.grammar import GrammarError, NamedGroup, Reference, Token, parse_definition, tokenize_body
from soc_core.errors import ConfigError
from soc_core.event import ensure_object

Cast = Callable[[str], Any]

CASTS: dict[str, Cast | None] = {
    "int": int,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "str": None,
    "string": None,
    "keyword": None,
    "lower": str.lower,
}

_INLINE = "<inline>"


class GrokError(ConfigError):
    """A pattern that does not load or compile: names the file, line and pattern."""

    def __init__(self, reason: str, source: str = _INLINE, line: int | None = None, pattern: str | None = None) -> None:
        self.source = source
        self.line = line
        self.pattern = pattern
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        what = f" pattern {pattern}" if pattern else ""
        super().__init__(f"{where}:{what}: {reason}")


class CaptureSlot(NamedTuple):
    """One capture of a compiled pattern, for callers that read ``m.groups()`` themselves.

    Parsers on a hot path precompute, once, where each slot's value goes (see
    :meth:`GrokPattern.slots`) instead of building and walking a ``{path: value}`` dict
    per line. The rules of :meth:`GrokPattern.match` then read: skip an empty value, skip
    a slot when one of ``earlier`` is non-empty (the first non-empty slot of a path wins),
    apply ``cast`` to the winner (a ``ValueError`` means "no match").
    """

    group: int  # position in ``regex.fullmatch(text).groups()``
    path: str  # the dotted ECS path, ``source.port``
    cast: Cast | None  # the declared type's converter; None keeps the text
    earlier: tuple[int, ...]  # group indexes of the earlier slots that name the same path


@dataclass(frozen=True, slots=True)
class Definition:
    """One named pattern and where it was defined."""

    name: str
    body: str
    tokens: tuple[Token, ...]
    source: str
    line: int


class GrokPattern:
    """A compiled pattern: ``match(text)`` gives ``{ecs.path: value}`` or ``None``.

    Matching is anchored at both ends. Empty captures are left out (as Logstash's
    ``keep_empty_captures: false``); when several captures name one path, the first
    that matched wins. A value that does not fit its declared type (``:int``) makes the
    whole match fail, so numbers are always numbers.
    """

    __slots__ = (
        "_casts", "_dups", "_fast", "_fill_casts", "_fill_steps", "_fullmatch", "_paths", "_pick", "_slots",
        "regex", "text",
    )

    def __init__(self, text: str, regex: re.Pattern[str], slots: list[tuple[int, str, Cast | None]]) -> None:
        self.text = text
        self.regex = regex
        self._fullmatch = regex.fullmatch
        self._slots = tuple(slots)
        # The fast path of match(): pick the capture slots out of m.groups() in C, build
        # the dict in one comprehension, then settle the (few) repeated paths and casts.
        # It needs every slot of one path to share one cast; otherwise the slot loop runs.
        paths = [path for _, path, _ in slots]
        indexes = [index for index, _, _ in slots]
        self._paths = tuple(paths)
        self._pick: Callable[[tuple[str | Any, ...]], tuple[str | Any, ...]] = (
            itemgetter(*indexes) if len(indexes) > 1 else (lambda groups: tuple(groups[i] for i in indexes))
        )
        casts: dict[str, set[Cast | None]] = {}
        for _, path, cast in slots:
            casts.setdefault(path, set()).add(cast)
        self._fast = all(len(kinds) == 1 for kinds in casts.values())
        self._casts = tuple((path, cast) for path, kinds in casts.items() for cast in kinds if cast is not None)
        self._dups = tuple(
            (path, tuple(k for k, other in enumerate(paths) if other == path))
            for path in casts if paths.count(path) > 1
        )
        # fill(): the parent/leaf split of every path, done here rather than per line.
        public = self.slots
        self._fill_steps = tuple(
            (slot.group, tuple(slot.path.split(".")[:-1]), slot.path.rsplit(".", 1)[-1], slot.earlier)
            for slot in public
        )
        self._fill_casts = tuple((slot.group, slot.cast, slot.earlier) for slot in public if slot.cast is not None)

    @property
    def slots(self) -> tuple[CaptureSlot, ...]:
        """Every capture slot in pattern order (several may name one path)."""
        seen: dict[str, list[int]] = {}
        out: list[CaptureSlot] = []
        for index, path, cast in self._slots:
            before = seen.setdefault(path, [])
            out.append(CaptureSlot(index, path, cast, tuple(before)))
            before.append(index)
        return tuple(out)

    @property
    def fields(self) -> tuple[str, ...]:
        """The ECS paths this pattern can capture, in pattern order."""
        return tuple(dict.fromkeys(path for _, path, _ in self._slots))

    def match(self, text: str) -> dict[str, Any] | None:
        m = self._fullmatch(text)
        if m is None:
            return None
        if not self._fast:
            return self._match_slots(m.groups())
        values = self._pick(m.groups())
        # Empty captures are left out; a path keeps the position of its first non-empty slot.
        out = {path: value for path, value in zip(self._paths, values, strict=False) if value}
        for path, positions in self._dups:
            if path in out:
                # Several slots name this path: the first that matched wins.
                for k in positions:
                    if values[k]:
                        out[path] = values[k]
                        break
        for path, cast in self._casts:
            value = out.get(path)
            if value is not None:
                try:
                    out[path] = cast(value)
                except ValueError:
                    return None
        return out

    def fill(self, event: dict[str, Any], text: str) -> bool:
        """Match ``text`` and write the captures straight into the nested ``event``.

        Same values and the same key order as ``set_fields(event, match(text))``, without
        the intermediate ``{path: value}`` dict. Returns ``False`` (``event`` untouched)
        when the text does not match or a value does not fit its declared type.
        """
        m = self._fullmatch(text)
        if m is None:
            return False
        groups = m.groups()
        values: list[Any] = list(groups)
        # Casts first, so that a value that does not fit leaves the event untouched.
        for index, cast, earlier in self._fill_casts:
            value = groups[index]
            if value and not (earlier and any(groups[k] for k in earlier)) and cast is not None:
                try:
                    values[index] = cast(value)
                except ValueError:
                    return False
        for index, parents, leaf, earlier in self._fill_steps:
            # Emptiness is judged on the text: a cast 0 is still a value.
            if not groups[index] or (earlier and any(groups[k] for k in earlier)):
                continue
            ensure_object(event, parents)[leaf] = values[index]
        return True

    def _match_slots(self, groups: tuple[str | Any, ...]) -> dict[str, Any] | None:
        """The general case, slot by slot (paths captured with different casts)."""
        out: dict[str, Any] = {}
        for index, path, cast in self._slots:
            value = groups[index]
            if not value or path in out:
                continue
            if cast is not None:
                try:
                    out[path] = cast(value)
                except ValueError:
                    return None
            else:
                out[path] = value
        return out

    def __repr__(self) -> str:
        return f"GrokPattern({self.text!r})"


class GrokRouter:
    """Conditional routing: a cheap ``key`` function picks one pattern per line.

    This replaces the "try ten patterns in turn" habit: ``key`` (a split, a prefix, a
    message id) selects the only pattern that is then run. ``match`` returns
    ``(route, fields)`` or ``None`` when no route exists or its pattern does not match.
    """

    __slots__ = ("_default", "_key", "routes")

    def __init__(
        self,
        key: Callable[[str], str | None],
        routes: Mapping[str, GrokPattern],
        default: GrokPattern | None = None,
    ) -> None:
        self._key = key
        self.routes = dict(routes)
        self._default = default

    def match(self, text: str) -> tuple[str | None, dict[str, Any]] | None:
        route = self._key(text)
        pattern = self.routes.get(route) if route is not None else None
        if pattern is None:
            if self._default is None:
                return None
            route = None
            pattern = self._default
        fields = pattern.match(text)
        return None if fields is None else (route, fields)


class GrokLibrary:
    """Named pattern definitions and the compiler that expands them."""

    def __init__(self) -> None:
        self._definitions: dict[str, Definition] = {}
        self._loaded: set[str] = set()
        self._cache: dict[str, GrokPattern] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._definitions

    @property
    def names(self) -> list[str]:
        return sorted(self._definitions)

    def definition(self, name: str) -> Definition:
        try:
            return self._definitions[name]
        except KeyError:
            raise GrokError(f"unknown pattern {name}") from None

    # --- loading ---------------------------------------------------------------------

    def load_file(self, path: str | Path) -> None:
        """Add the definitions of one pattern file (loading the same file twice is a no-op).

        Raises :class:`GrokError` naming the file, line and pattern on a bad line, an
        unknown reference, a cycle, a bad regex, or a name another file already defines
        differently.
        """
        self.load_files([path])

    def load_files(self, paths: Iterable[str | Path]) -> None:
        """Add several pattern files at once, so they may refer to each other."""
        definitions: list[Definition] = []
        resolved_paths: list[str] = []
        for path in paths:
            resolved = str(Path(path).resolve())
            if resolved in self._loaded or resolved in resolved_paths:
                continue
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise GrokError(f"cannot read pattern file: {exc.strerror}", str(path)) from None
            definitions.extend(self._read(text, str(path)))
            resolved_paths.append(resolved)
        self._add(definitions)
        self._loaded.update(resolved_paths)

    def load_text(self, text: str, source: str = _INLINE) -> list[str]:
        """Add the ``NAME regex`` lines of ``text``; returns the names defined."""
        definitions = self._read(text, source)
        self._add(definitions)
        return [d.name for d in definitions]

    @staticmethod
    def _read(text: str, source: str) -> list[Definition]:
        definitions: list[Definition] = []
        for number, raw_line in enumerate(text.splitlines(), start=1):
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                name, body = parse_definition(line)
                tokens = tuple(tokenize_body(body))
            except GrammarError as exc:
                raise GrokError(f"{exc} (column {exc.column})", source, number, line.split(None, 1)[0]) from None
            definitions.append(Definition(name, body, tokens, source, number))
        return definitions

    def add(self, name: str, body: str) -> None:
        """Define one pattern from code."""
        self.load_text(f"{name} {body}", f"<add {name}>")

    def _add(self, definitions: Iterable[Definition]) -> None:
        new: dict[str, Definition] = {}
        for d in definitions:
            if d.name in new:
                first = new[d.name]
                raise GrokError(f"defined twice (first at {first.source}:{first.line})", d.source, d.line, d.name)
            known = self._definitions.get(d.name)
            if known is not None and known.body == d.body:
                continue  # the same definition again (a file loaded under two paths)
            if known is not None:
                raise GrokError(
                    f"already defined differently in {known.source}:{known.line}", d.source, d.line, d.name
                )
            new[d.name] = d
        previous = dict(self._definitions)
        self._definitions.update(new)
        # Validate after adding the whole file, so references may point forward.
        for d in new.values():
            try:
                self._compile_tokens(d.tokens, d.body, [d.name])
            except GrokError as exc:
                self._definitions = previous
                if exc.line is not None:
                    raise
                raise GrokError(exc.reason, d.source, d.line, d.name) from None
        self._cache.clear()

    # --- compiling -------------------------------------------------------------------

    def compile(self, text: str) -> GrokPattern:
        """Compile a pattern (``%{IP:source.ip} ...``) into one anchored regex."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        try:
            tokens = tokenize_body(text)
        except GrammarError as exc:
            raise GrokError(f"{exc} (column {exc.column})", pattern=text) from None
        pattern = self._compile_tokens(tuple(tokens), text, [])
        self._cache[text] = pattern
        return pattern

    def router(
        self,
        key: Callable[[str], str | None],
        routes: Mapping[str, str],
        default: str | None = None,
    ) -> GrokRouter:
        """Compile a route table ``{key: pattern text}`` into a :class:`GrokRouter`."""
        compiled = {route: self.compile(text) for route, text in routes.items()}
        return GrokRouter(key, compiled, self.compile(default) if default is not None else None)

    def _compile_tokens(self, tokens: tuple[Token, ...], text: str, stack: list[str]) -> GrokPattern:
        captures: list[tuple[str, str, Cast | None]] = []
        regex_text = self._expand(tokens, captures, stack)
        try:
            regex = re.compile(regex_text)
        except re.error as exc:
            raise GrokError(f"invalid regular expression: {exc}", pattern=stack[0] if stack else text) from None
        slots = [(regex.groupindex[group] - 1, path, cast) for group, path, cast in captures]
        return GrokPattern(text, regex, slots)

    def _expand(self, tokens: Iterable[Token], captures: list[tuple[str, str, Cast | None]], stack: list[str]) -> str:
        parts: list[str] = []
        for token in tokens:
            if isinstance(token, str):
                parts.append(token)
            elif isinstance(token, NamedGroup):
                group = f"g{len(captures)}"
                captures.append((group, token.field, None))
                parts.append(f"(?P<{group}>")
            else:
                parts.append(self._expand_reference(token, captures, stack))
        return "".join(parts)

    def _expand_reference(
        self, ref: Reference, captures: list[tuple[str, str, Cast | None]], stack: list[str]
    ) -> str:
        definition = self._definitions.get(ref.name)
        if definition is None:
            raise GrokError(f"unknown pattern %{{{ref.name}}}", pattern=stack[-1] if stack else None)
        if ref.name in stack:
            cycle = " -> ".join([*stack[stack.index(ref.name):], ref.name])
            raise GrokError(f"recursive pattern: {cycle}", definition.source, definition.line, ref.name)
        cast: Cast | None = None
        if ref.type is not None:
            if ref.type.lower() not in CASTS:
                raise GrokError(
                    f"unknown type {ref.type!r} (known: {', '.join(sorted(CASTS))})",
                    pattern=stack[-1] if stack else None,
                )
            cast = CASTS[ref.type.lower()]
        stack.append(ref.name)
        try:
            if ref.field:
                group = f"g{len(captures)}"
                captures.append((group, ref.field, cast))
                return f"(?P<{group}>{self._expand(definition.tokens, captures, stack)})"
            return f"(?:{self._expand(definition.tokens, captures, stack)})"
        finally:
            stack.pop()
