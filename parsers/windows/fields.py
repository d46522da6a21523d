"""Small value helpers shared by the Windows mappers (and the endpoint parsers)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from soc_core.event import Event, add_related, set_field

_BLANKS = re.compile(r"[ \t]+")  # the only separators CommandLineToArgvW knows

# Windows writes "-" (and sometimes "%%1793", "<value not set>") for an absent value.
EMPTY = frozenset({"", "-", "%%1793", "<value not set>", "NULL SID"})


def clean(value: Any) -> str | None:
    """The text of a Windows value, or ``None`` when it means "nothing"."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    text = text.strip()
    return None if text in EMPTY else text


def to_int(value: Any) -> int | None:
    """An integer from decimal or ``0x`` hexadecimal text (Windows writes both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = clean(value)
    if text is None:
        return None
    try:
        return int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None


def basename(path: str) -> str:
    """The last component of a Windows or POSIX path."""
    return path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]


def split_command_line(command_line: str) -> list[str]:
    """Split on blanks outside double quotes, keeping the quotes, as Elastic's
    ``system.security`` pipeline does for ``process.args``."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in command_line.strip():
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch in " \t" and not quoted:
            if current:
                args.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        args.append("".join(current))
    return args


def ip_text(value: Any) -> str | None:
    """A valid IP address from Windows text (``::ffff:1.2.3.4`` unwrapped), else None."""
    text = clean(value)
    if text is None:
        return None
    if text.lower().startswith("::ffff:") and "." in text:
        text = text[7:]
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return None


def put(event: Event, path: str, value: Any) -> None:
    """Set ``path`` unless the value is empty or means nothing."""
    if value is None:
        return
    if isinstance(value, str):
        cleaned = clean(value)
        if cleaned is None:
            return
        value = cleaned
    set_field(event, path, value)


def put_process(event: Event, prefix: str, executable: Any, pid: Any = None) -> None:
    """``<prefix>.executable``, ``.name`` and ``.pid`` from a path and a pid text."""
    path = clean(executable)
    if path is not None:
        set_field(event, f"{prefix}.executable", path)
        set_field(event, f"{prefix}.name", basename(path))
    number = to_int(pid)
    if number is not None:
        set_field(event, f"{prefix}.pid", number)


def put_command_line(event: Event, prefix: str, command_line: Any) -> None:
    """``<prefix>.command_line`` and ``.args`` from a command line."""
    text = clean(command_line)
    if text is not None:
        set_field(event, f"{prefix}.command_line", text)
        set_field(event, f"{prefix}.args", split_command_line(text))


def related(event: Event, kind: str, *values: Any) -> None:
    """Append text values to ``related.<kind>``, skipping empty ones and "-" (and
    creating no empty list when nothing is left)."""
    kept = [v for v in values if isinstance(v, str) and v and v != "-"]
    if kept:
        add_related(event, kind, *kept)


def add_categories(event: Event, category: list[str], kind: list[str], action: str | None = None) -> None:
    """Set ``event.category``/``event.type`` (copies) and, when given, ``event.action``."""
    ev = event["event"]
    ev["category"] = list(category)
    ev["type"] = list(kind)
    if action:
        ev["action"] = action


def command_line_to_argv(command_line: str) -> list[str]:
    """Split a command line as Windows' ``CommandLineToArgvW`` does (quotes removed,
    backslashes before quotes halved), like Elastic's sysmon pipeline ``process.args``."""
    if '"' not in command_line:
        # Without quotes backslashes are literal: a plain split is the same, and fast.
        return [part for part in _BLANKS.split(command_line) if part]
    args: list[str] = []
    i, n = 0, len(command_line)
    while i < n:
        while i < n and command_line[i] in " \t":
            i += 1
        if i >= n:
            break
        arg: list[str] = []
        quoted = False
        slashes = 0
        while i < n:
            ch = command_line[i]
            if ch in " \t" and not quoted:
                break
            if ch == "\\":
                slashes += 1
                i += 1
                continue
            if ch == '"':
                arg.append("\\" * (slashes // 2))
                if slashes % 2 == 0:
                    # "Prior to 2008" rule: "" inside quotes is a literal quote.
                    if quoted and i + 1 < n and command_line[i + 1] == '"':
                        arg.append('"')
                        i += 1
                    quoted = not quoted
                else:
                    arg.append('"')
                slashes = 0
                i += 1
                continue
            arg.append("\\" * slashes)
            slashes = 0
            arg.append(ch)
            i += 1
        arg.append("\\" * slashes)
        args.append("".join(arg))
    return args
