"""Load playbooks from YAML and validate them against the published JSON Schema.

Errors carry the file and the line of the offending YAML node (the schema error's path is
followed through the composed YAML tree), and ``check_paths`` collects every error of every
file instead of stopping at the first, as a linter should. Beyond the schema: step ids are
unique within a playbook, a ``revert`` step names an earlier step that can be reverted, and
playbook ids are unique across the files loaded together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from playbooks.model import BLOCKING_TYPES, Playbook, build_playbook
from soc_core.errors import PlaybookError

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def schema() -> dict[str, Any]:
    """The published playbook JSON Schema."""
    text = resources.files("playbooks").joinpath("schema/playbook.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


_VALIDATOR = jsonschema.Draft202012Validator(schema())


def _node_line(root: yaml.Node, path: Iterable[Any]) -> int:
    """1-based line of the YAML node at a JSON path (the deepest node that exists)."""
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
    return int(node.start_mark.line) + 1


def _errors_of(text: str, path: str) -> tuple[Any, yaml.Node | None, list[PlaybookError]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, None, [PlaybookError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path,
                                          mark.line + 1 if mark else 1)]
    if root is None:
        return None, None, [PlaybookError("empty playbook", path, 1)]
    errors = [
        PlaybookError(f"{'.'.join(str(p) for p in err.absolute_path) or 'playbook'}: {err.message}", path,
                      _node_line(root, err.absolute_path))
        for err in sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if not errors:
        seen: dict[str, int] = {}
        for i, step in enumerate(data["steps"]):
            line = _node_line(root, ["steps", i])
            if step["id"] in seen:
                errors.append(PlaybookError(f"steps.{i}: duplicate step id {step['id']!r}", path, line))
            if step["type"] == "revert":
                target = next((s for s in data["steps"][:i] if s["id"] == step["step"]), None)
                if target is None or target["type"] not in BLOCKING_TYPES:
                    errors.append(PlaybookError(
                        f"steps.{i}: revert needs an earlier block_ip or isolate_host step, not {step['step']!r}",
                        path, line))
            seen[step["id"]] = i
    return data, root, errors


def load_text(text: str, path: str = "<playbook>") -> Playbook:
    """One playbook from YAML text; raises the first :class:`PlaybookError`."""
    data, root, errors = _errors_of(text, path)
    if errors:
        raise errors[0]
    assert root is not None  # no error means it composed
    lines = {i: _node_line(root, ["steps", i]) for i in range(len(data["steps"]))}
    return build_playbook(data, path, lines)


def load_file(path: str | Path) -> Playbook:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(f"cannot read: {exc}", str(path), 1) from None
    return load_text(text, str(path))


def _files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(f for f in path.rglob("*") if f.suffix in (".yml", ".yaml"))
        else:
            yield path


def check_paths(paths: Iterable[str | Path]) -> tuple[list[Playbook], list[PlaybookError]]:
    """Every playbook that loads, and every error of every file (collect mode)."""
    loaded: list[Playbook] = []
    errors: list[PlaybookError] = []
    ids: dict[str, str] = {}
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(PlaybookError(f"cannot read: {exc}", str(path), 1))
            continue
        _, root, errs = _errors_of(text, str(path))
        if errs:
            errors.extend(errs)
            continue
        playbook = load_text(text, str(path))
        if playbook.id in ids:
            errors.append(PlaybookError(f"duplicate playbook id {playbook.id!r} (also in {ids[playbook.id]})",
                                        str(path), _node_line(root, ["id"]) if root else 1))
            continue
        ids[playbook.id] = str(path)
        loaded.append(playbook)
    return loaded, errors


def load_playbooks(paths: Iterable[str | Path] = (), include_builtin: bool = True) -> list[Playbook]:
    """The built-in playbooks plus those under ``paths``; any error stops (start-up error)."""
    all_paths = [BUILTIN_DIR, *paths] if include_builtin else list(paths)
    playbooks, errors = check_paths(all_paths)
    if errors:
        raise errors[0]
    return playbooks
