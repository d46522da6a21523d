"""``auditd.log``: Linux audit records (``/var/log/audit/audit.log``) to ECS.

One regex splits ``type=X msg=audit(epoch:serial): k=v ...``; :func:`parsers.kv.parse_kv`
reads the pairs (and the quoted ``msg='...'`` of user-space records). Hex-encoded values
are decoded, and each record type is categorised as Filebeat's auditd module does
(after go-libaudit's normalisations: ``USER_CMD`` is ``ran-command``, and so on).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, format_timestamp

_RECORD: Final = re.compile(
    r"(?:.*?\s)?type=(?P<type>\S+) msg=audit\((?P<epoch>\d+(?:\.\d+)?):(?P<serial>\d+)\):\s*(?P<body>.*)",
    re.S,
)
# The same without the leading text, for the usual line that starts with its only "type=":
# the optional prefix above can then never match, and trying it costs a scan of the line.
_RECORD_AT_START: Final = re.compile(
    r"type=(?P<type>\S+) msg=audit\((?P<epoch>\d+(?:\.\d+)?):(?P<serial>\d+)\):\s*(?P<body>.*)", re.S
)
_SUB_MSG: Final = re.compile(r"(?P<head>.*?)\s*msg=(?P<q>['\"])(?P<sub>.*?)(?P=q)\s*(?P<tail>.*)", re.S)
# A pair: quoted values end at their quote; bare values run to the next " key=" (so
# "op=adding group to /etc/group id=1004" keeps its spaces, as auditd writes it).
_PAIR: Final = re.compile(r"(?:(?<=\s)|^)([\w\-\[\]]+)=(\"[^\"]*\"|'[^']*'|.*?)(?=\s+[\w\-\[\]]+=|\s*$)", re.S)
# Text made only of whitespace-separated key=value words whose values are bare or wholly
# quoted without spaces (the usual record): _PAIR then splits exactly at the words.
# (Possessive "*+": a text that fails is not retried word by word.)
_SIMPLE_PAIRS: Final = re.compile(r"\s*(?:[\w\-\[\]]+=(?:\"[^\"\s]*\"|'[^'\s]*'|[^\s\"']*)(?:\s+|\Z))*+")
_HEX_TEXT: Final = re.compile(r"(?:[0-9A-Fa-f]{2})+")
# Bytes that make auditd hex-encode a value: control bytes, space, '"' and DEL.
_ENCODED_BYTE: Final = re.compile(rb"[\x00-\x20\x22\x7f]")
_CARETS: Final = {b: "^" + chr(b ^ 64) for b in (*range(32), 127)}
_OLD_NEW: Final = re.compile(r"\b(old|new) (auid|ses)=")
_UNSET: Final = frozenset({"", "?", "(null)"})  # values auditd writes for "no value"
_NO: Final[dict[str, Any]] = {}  # read-only default for .get chains: never written to
_ARG: Final = re.compile(r"a(\d+)(?:\[(\d+)\])?")

# Keys whose values auditd may write hex-encoded (when they hold spaces or control bytes).
HEX_KEYS: Final = frozenset({
    "exe", "cmd", "data", "path", "comm", "file", "name", "watch", "cwd", "acct", "dir", "vm",
    "old-chardev", "new-chardev", "old-disk", "new-disk", "old-fs", "new-fs", "old-net", "new-net",
    "device", "cgroup", "apparmor", "operation", "denied_mask", "info", "profile", "requested_mask",
    "old-rng", "new-rng", "ocomm", "grp", "new_group", "invalid_context", "sw", "root_dir", "proctitle",
})

# record type -> (action, categories, types), from go-libaudit's normalisations.
NORMALISATIONS: Final[dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    "USER_CMD": ("ran-command", ("process",), ("start",)),
    "CRYPTO_SESSION": ("started-crypto-session", ("process",), ("info",)),
    "CRYPTO_KEY_USER": ("negotiated-crypto-key", ("process",), ("info",)),
    "USER_TTY": ("typed", (), ()),
    "TTY": ("typed", (), ()),
    "SOFTWARE_UPDATE": ("package-updated", ("package",), ("info",)),
    "KERN_MODULE": ("loaded-kernel-module", ("driver",), ("start",)),
    "USER_END": ("ended-session", ("session",), ("end",)),
    "USER_START": ("started-session", ("session",), ("start",)),
    "USER_LOGIN": ("logged-in", ("authentication",), ("start",)),
    "USER_LOGOUT": ("logged-out", ("authentication",), ("end",)),
    "CRED_DISP": ("disposed-credentials", ("authentication",), ("info",)),
    "CRED_ACQ": ("acquired-credentials", ("authentication",), ("info",)),
    "CRED_REFR": ("refreshed-credentials", ("authentication",), ("info",)),
    "LOGIN": ("changed-login-id-to", ("authentication",), ("start",)),
    "USER_AUTH": ("authenticated", ("authentication",), ("info",)),
    "USER_ACCT": ("was-authorized", ("authentication",), ("info",)),
    "USER_ERR": ("error", ("authentication",), ("info",)),
    "DAEMON_START": ("started-audit", ("process",), ("start",)),
    "DAEMON_END": ("stopped-audit", ("process",), ("end",)),
    "CONFIG_CHANGE": ("changed-audit-configuration", ("configuration", "process"), ("change",)),
    "SERVICE_START": ("started-service", ("process",), ("start",)),
    "SERVICE_STOP": ("stopped-service", ("process",), ("end",)),
    "ADD_GROUP": ("added-group-account-to", ("iam",), ("creation", "group")),
    "DEL_GROUP": ("deleted-group-account-from", ("iam",), ("deletion", "group")),
    "ADD_USER": ("added-user-account", ("iam",), ("creation", "user")),
    "DEL_USER": ("deleted-user-account", ("iam",), ("deletion", "user")),
    "USER_CHAUTHTOK": ("changed-password", ("iam",), ("change", "user")),
    "GRP_CHAUTHTOK": ("changed-group-password", ("iam",), ("change", "group")),
    "USER_MGMT": ("modified-user-account", ("iam",), ("change", "user")),
    "GRP_MGMT": ("modified-group-account", ("iam",), ("change", "group")),
    "ANOM_PROMISCUOUS": ("changed-promiscuous-mode-on-device", (), ()),
    "USER_AVC": ("access-permission", (), ()),
}
# Record types the pipeline sets host-level category/type for (plain strings, not lists).
_HOST_TYPES: Final = {"SYSTEM_BOOT": "booted-system", "SYSTEM_SHUTDOWN": "shutdown-system",
                      "SYSTEM_RUNLEVEL": "changed-to-runlevel"}
# socket syscalls (x86_64 numbers and names) and the direction of their traffic.
_DIRECTIONS: Final = {"42": "egress", "connect": "egress", "44": "egress", "sendto": "egress",
                      "46": "egress", "sendmsg": "egress", "43": "ingress", "accept": "ingress",
                      "288": "ingress", "accept4": "ingress", "45": "ingress", "recvfrom": "ingress",
                      "47": "ingress", "recvmsg": "ingress"}
_ARCHES: Final = {"c000003e": "x86_64", "40000003": "i386", "c00000b7": "aarch64", "40000028": "arm"}
# auditd field -> ECS field (renamed out of auditd.log).
_RENAMES: Final = (
    ("acct", "user.name"), ("user", "user.name"), ("uid", "user.id"), ("gid", "user.group.id"),
    ("agid", "user.audit.group.id"),
    ("auid", "user.audit.id"), ("fsgid", "user.filesystem.group.id"), ("fsuid", "user.filesystem.id"),
    ("egid", "user.effective.group.id"), ("euid", "user.effective.id"), ("sgid", "user.saved.group.id"),
    ("suid", "user.saved.id"), ("ogid", "user.owner.group.id"), ("ouid", "user.owner.id"),
    ("comm", "process.name"), ("exe", "process.executable"), ("terminal", "user.terminal"),
    ("cwd", "process.working_directory"),
)


def _is_hex(value: str) -> bool:
    # Whole hex bytes only: anything else (a quoted path, "0x..") is not encoded, and
    # bytes.fromhex would refuse it anyway. A regex, not int(value, 16) in a try: most
    # values tested are quoted text, and a raised exception per value is costly.
    return _HEX_TEXT.fullmatch(value) is not None


def decode_hex(value: str) -> str:
    """auditd's hex encoding; kept as is unless it decodes to text that needed it."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return value
    if _ENCODED_BYTE.search(raw) is None:
        return value  # plain hex digits that happen to be even in length: not encoded
    # Each byte is its own character (Latin-1), control bytes shown as ^X like ausearch -i.
    return raw.decode("latin-1").translate(_CARETS)


def _pairs(text: str) -> dict[str, str]:
    """Audit ``key=value`` pairs (the first of a repeated key wins)."""
    simple = _SIMPLE_PAIRS.fullmatch(text) is not None
    if not simple:
        # A first word without "=" ("tty pid=...", "user pid=..."): _PAIR never starts a
        # pair inside it, so the pairs are those of the rest.
        words = text.split(None, 1)
        if len(words) == 2 and "=" not in words[0] and _SIMPLE_PAIRS.fullmatch(words[1]) is not None:
            text, simple = words[1], True
    if simple:
        # _PAIR would split exactly at the words (see _SIMPLE_PAIRS), and a split is
        # several times cheaper than its lazy, look-ahead-per-character scan.
        out: dict[str, str] = {}
        for word in text.split():
            key, _, value = word.partition("=")
            out.setdefault(key, value)
        return out
    out = {}
    for key, value in _PAIR.findall(text):
        out.setdefault(key, value.strip())
    return out


@lru_cache(maxsize=256)
def _execve_layout(argc: int) -> tuple[frozenset[str], Callable[[dict[str, str]], tuple[str, ...]]]:
    """The keys of a whole, unsplit EXECVE record of ``argc`` arguments, and a getter of
    its ``a0..a(argc-1)`` values in order (one C call instead of a loop)."""
    names = [f"a{i}" for i in range(argc)]
    getter = itemgetter(*names) if argc > 1 else lambda pairs: (pairs[names[0]],)
    return frozenset({"argc", *names}), getter


def _execve(event: Event, pairs: dict[str, str]) -> None:
    """EXECVE ``a0..aN`` (and split ``aN[i]``) pairs to ``process.args``; they leave ``pairs``."""
    argc = pairs.get("argc")
    count = int(argc) if argc is not None and argc.isdecimal() else 0
    keys, values = _execve_layout(count) if count and len(pairs) == count + 1 else (None, None)
    if values is not None and pairs.keys() == keys:
        # The usual record: exactly argc=N and a0..a(N-1), each in one piece. Same result
        # as the general path below, without sorting pieces.
        args = [v[1:-1] if v[:1] == '"' and v[-1:] == '"' else v for v in values(pairs)]
        pairs.clear()
        process = event.setdefault("process", {})
        process["args"] = args
        process["args_count"] = count
        process["executable"] = args[0]
        return
    pieces: dict[int, list[tuple[int, str]]] = {}
    for key in [k for k in pairs if k[:1] == "a"]:
        number = key[1:]
        if number.isdecimal() and number.isascii():
            # The usual "aN": no regex needed (a long command has hundreds of them).
            index, sub = int(number), 0
        else:
            m = _ARG.fullmatch(key)
            if m is None:
                if key.endswith("_len") and key[1:-4].isdecimal():
                    del pairs[key]
                continue
            index, sub = int(m.group(1)), int(m.group(2) or 0)
        value = pairs.pop(key)
        if value[:1] == '"' and value[-1:] == '"':
            value = value[1:-1]
        pieces.setdefault(index, []).append((sub, value))
    if not pieces:
        return
    indexes = sorted(pieces)
    if len(indexes) > 1 and min(sub for sub, _ in pieces[indexes[0]]) > 0:
        indexes.pop(0)  # only the tail of this argument is here: it counts as truncated
    # Most arguments come in one piece: join (and sort) only the split ones.
    args = [
        parts[0][1] if len(parts) == 1 else "".join(v for _, v in sorted(parts))
        for parts in (pieces[i] for i in indexes)
    ]
    if indexes[0] > 0:
        # auditd split a long command over records: say how many arguments came before.
        args.insert(0, f"[... {indexes[0]} truncated arguments ...]")
    process = event.setdefault("process", {})
    process["args"] = args
    argc = pairs.pop("argc", None)
    if argc is not None and argc.isdecimal():
        process["args_count"] = int(argc)
    if indexes[0] == 0:
        process["executable"] = args[0]


# Records of user-space tools (PAM, shadow-utils) where the acting user is the login
# (audit) id and the session uid is only the "effective" one, as go-libaudit reads them.
_AUID_ACCT: Final = frozenset({
    "USER_END", "USER_START", "CRED_DISP", "CRED_ACQ", "CRED_REFR", "USER_AUTH", "USER_ACCT",
    "USER_LOGIN", "USER_LOGOUT", "USER_ERR",
})
_AUID_UID: Final = frozenset({
    "ADD_GROUP", "DEL_GROUP", "GRP_MGMT", "GRP_CHAUTHTOK", "ADD_USER", "DEL_USER", "USER_MGMT", "USER_CHAUTHTOK",
})


def _subject(event: Event, record_type: str, log: dict[str, Any]) -> None:
    """user.id / user.effective.* / user.target.* by record type (the "subject" and "object")."""
    auid = log.get("auid")
    if record_type in _AUID_ACCT and auid is not None:
        _set(event, "user.id", auid)
        if "acct" in log:
            _set(event, "user.effective.name", log["acct"])
        log.setdefault("_keep_uid", True)
    elif record_type in _AUID_UID and auid is not None:
        _set(event, "user.id", auid)
        if "uid" in log:
            _set(event, "user.effective.id", log["uid"])
        if "id" in log:
            target = "group.id" if "GROUP" in record_type or record_type.startswith("GRP") else "user.target.id"
            _set(event, target, log["id"])
        if record_type == "USER_CHAUTHTOK" and "acct" in log:
            _set(event, "user.target.name", log["acct"])
        log.setdefault("_keep_uid", True)
    elif record_type == "LOGIN" and (auid is not None or "new_auid" in log):
        auid = log.get("new_auid", auid)
        _set(event, "user.id", auid)
        _set(event, "user.effective.id", auid)
        log.setdefault("_keep_uid", True)


@lru_cache(maxsize=4096)
def _stamp(epoch: str) -> str | None:
    """``@timestamp`` of an audit epoch text, ``None`` when out of range.

    Cached: the records of one audit event share their stamp.
    """
    try:
        return format_timestamp(datetime.fromtimestamp(float(epoch), UTC))
    except (OverflowError, ValueError, OSError):
        return None


@lru_cache(maxsize=4096)
def _canonical_ip(value: str) -> str | None:
    """The canonical text of an IP address, ``None`` if not one. Cached: records repeat
    the same few addresses (127.0.0.1, a login's client), and ``ipaddress`` is slow."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _path(path: str) -> tuple[tuple[str, ...], str]:
    """A dotted ECS path as (parent keys, leaf), split once (a few dozen paths recur)."""
    *parents, leaf = path.split(".")
    return tuple(parents), leaf


def _set(event: Event, path: str, value: Any) -> None:
    parents, leaf = _path(path)
    cur = event
    for part in parents:
        cur = cur.setdefault(part, {})
    cur[leaf] = value


# _RENAMES with each target split into (parent keys, leaf) once.
_RENAME_STEPS: Final = tuple((key, target, *_path(target)) for key, target in _RENAMES)


class AuditdParser(BaseParser):
    """Audit records (one line each) to ECS; the raw fields stay under ``auditd.log``."""

    id = "auditd.log"
    route_signals: ClassVar[tuple[str, ...]] = ("msg=audit(",)

    def accepts(self, raw: RawEvent) -> bool:
        return " msg=audit(" in raw.message

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message
        if text.startswith("type=") and text.find("type=", 5) < 0:
            m = _RECORD_AT_START.match(text)
        else:
            m = _RECORD.match(text)
        if m is None:
            raise ParseError(self.id, "not an audit record (type=... msg=audit(epoch:serial): ...)")
        record_type, epoch, serial, body = m.groups()
        event = self.new_event(raw)
        stamp = _stamp(epoch)
        if stamp is None:
            raise ParseError(self.id, f"audit timestamp out of range: {epoch}")
        event["@timestamp"] = stamp
        log: dict[str, Any] = {"sequence": int(serial)}
        # "old auid=X new auid=Y" (older kernels) becomes distinct keys before pairing.
        if "old " in body or "new " in body:  # the regex's own precondition, tested cheaply
            body = _OLD_NEW.sub(r"\1_\2=", body)
        sub = _SUB_MSG.match(body) if "msg=" in body else None
        pairs = _pairs(sub.group("head") + " " + sub.group("tail")) if sub else _pairs(body)
        if sub:
            inner = sub.group("sub")
            sub_pairs = _pairs(inner)
            if sub_pairs:
                for key, value in sub_pairs.items():
                    pairs.setdefault(key, value)
            else:
                pairs["msg"] = inner
        if record_type == "EXECVE":
            _execve(event, pairs)
        for key, value in pairs.items():
            if value in _UNSET:
                continue
            if key in HEX_KEYS and _is_hex(value):
                value = decode_hex(value)
            # One quote off each end (value[0] is one character: "in" tests it against both).
            if value[0] in "'\"":
                value = value[1:]
            if value[-1:] in ("'", '"'):
                value = value[:-1]
            log[key] = value
        self._ecs(event, record_type, log)
        return event

    @staticmethod
    def _fields(event: Event, record_type: str, log: dict[str, Any]) -> None:
        """The raw fields that become ECS fields (renamed out of ``log``)."""
        ecs = event["event"]
        arch = log.pop("arch", None)
        if arch is not None:
            _set(event, "host.architecture", _ARCHES.get(arch, arch))
        _subject(event, record_type, log)
        keep_uid = log.pop("_keep_uid", False)
        for key, target, parents, leaf in _RENAME_STEPS:
            if key not in log:
                continue
            if key == "uid" and keep_uid:
                continue  # user.id is the audit id here; the raw uid stays in auditd.log
            if target == "user.name" and "name" in event.get("user", _NO):
                continue
            if key == "auid" or target != "user.id" or "id" not in event.get("user", _NO):
                # _set(event, target, ...) inlined, its path split at import: this runs
                # for every record and moves half a dozen fields.
                cur = event
                for part in parents:
                    cur = cur.setdefault(part, {})
                cur[leaf] = log.pop(key)
        for key, target in (("pid", "process.pid"), ("ppid", "process.parent.pid"), ("exit", "process.exit_code")):
            value = log.pop(key, None)
            if value is not None:
                try:
                    _set(event, target, int(value))
                except ValueError:
                    log[key] = value
        cmd = log.pop("cmd", None)
        if cmd is not None:
            args = cmd.split()
            event.setdefault("process", {}).update(args=args, args_count=len(args))
        if "msg" in log:
            event["message"] = log.pop("msg")
        if "res" in log:
            ecs["outcome"] = log.pop("res")
        addr = log.pop("addr", None)
        if addr is not None and "src" not in log:
            log["src"] = addr
        for key, side in (("src", "source"), ("dst", "destination")):
            value = log.pop(key, None)
            if value is None:
                continue
            event[side] = {"address": value}
            ip = _canonical_ip(value)
            if ip is not None:
                event[side]["ip"] = ip
        for key in ("dst_prefixlen", "src_prefixlen"):
            if key in log and str(log[key]).isdecimal():
                log[key] = int(log[key])

    @staticmethod
    def _ecs(event: Event, record_type: str, log: dict[str, Any]) -> None:
        ecs = event["event"]
        if len(log) > 1:  # more than its "sequence" (a whole EXECVE record leaves nothing else)
            AuditdParser._fields(event, record_type, log)
        ecs["action"] = record_type.lower()
        normal = NORMALISATIONS.get(record_type)
        if normal is not None:
            action, categories, types = normal
            ecs["action"] = [action]
            if categories:
                ecs["category"] = list(categories)
            if types:
                ecs["type"] = list(types)
        elif record_type in _HOST_TYPES:
            ecs["action"] = [_HOST_TYPES[record_type]]
            ecs["category"] = "host"
            ecs["type"] = "info"
        elif record_type == "SYSCALL" and log.get("syscall") in ("execve", "59"):
            ecs["action"] = ["executed"]
            ecs["category"] = "process"
            ecs["type"] = "info"
        elif record_type == "SYSCALL":
            ecs["category"] = ["process"]
            ecs["type"] = ["info"]
            direction = _DIRECTIONS.get(str(log.get("syscall")))
            if direction is not None:
                event.setdefault("network", {})["direction"] = direction
        elif record_type in ("VIRT_CONTROL", "VIRT_MACHINE_ID"):
            ecs["category"] = "host"
            op = log.get("op")
            if record_type == "VIRT_MACHINE_ID":
                ecs["action"] = ["assigned-vm-id"]
                ecs["type"] = "creation"
            else:
                ecs["action"] = ["issued-vm-control"]
                ecs["type"] = {"start": "start", "stop": "end", "create": "creation",
                               "delete": "deletion"}.get(str(op), "info")
            if "vm" in log:
                event["container"] = {"name": log["vm"]}
            if "virt" in log:
                event.setdefault("container", {})["runtime"] = log["virt"]
        elif record_type == "AVC":
            if "apparmor" in log:
                ecs["action"] = ["violated-apparmor-policy"]
            elif "seresult" in log:
                ecs["action"] = ["violated-selinux-policy"]
        log["record_type"] = record_type
        event["auditd"] = {"log": log}
        # add_related's own test of the value, made before the call: most records (EXECVE,
        # SYSCALL, PROCTITLE...) name no user, and the call costs more than the test.
        name = event.get("user", _NO).get("name")
        if name not in (None, "", "-"):
            add_related(event, "user", name)
