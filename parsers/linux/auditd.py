"""``auditd.log``: Linux audit records (``/var/log/audit/audit.log``) to ECS.

One regex splits ``type=X msg=audit(epoch:serial): k=v ...``; :func:`parsers.kv.parse_kv`
reads the pairs (and the quoted ``msg='...'`` of user-space records). Hex-encoded values
are decoded, and each record type is categorised as Filebeat's auditd module does
(after go-libaudit's normalisations: ``USER_CMD`` is ``ran-command``, and so on).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from parsers.base import BaseParser
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, format_timestamp

_RECORD: Final = re.compile(
    r"(?:.*?\s)?type=(?P<type>\S+) msg=audit\((?P<epoch>\d+(?:\.\d+)?):(?P<serial>\d+)\):\s*(?P<body>.*)",
    re.S,
)
_SUB_MSG: Final = re.compile(r"(?P<head>.*?)\s*msg=(?P<q>['\"])(?P<sub>.*?)(?P=q)\s*(?P<tail>.*)", re.S)
# A pair: quoted values end at their quote; bare values run to the next " key=" (so
# "op=adding group to /etc/group id=1004" keeps its spaces, as auditd writes it).
_PAIR: Final = re.compile(r"(?:(?<=\s)|^)([\w\-\[\]]+)=(\"[^\"]*\"|'[^']*'|.*?)(?=\s+[\w\-\[\]]+=|\s*$)", re.S)
# Text made only of whitespace-separated key=value words whose values are bare or wholly
# quoted without spaces (the usual record): _PAIR then splits exactly at the words.
_SIMPLE_PAIRS: Final = re.compile(r"\s*(?:[\w\-\[\]]+=(?:\"[^\"\s]*\"|'[^'\s]*'|[^\s\"']*)(?:\s+|\Z))*")
_OLD_NEW: Final = re.compile(r"\b(old|new) (auid|ses)=")
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
    if not value or len(value) % 2:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def decode_hex(value: str) -> str:
    """auditd's hex encoding; kept as is unless it decodes to text that needed it."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return value
    if not any(b < 33 or b in (34, 127) for b in raw):
        return value  # plain hex digits that happen to be even in length: not encoded
    out = []
    for b in raw:
        if b < 32 or b == 127:
            out.append("^" + chr(b ^ 64))  # control bytes shown as ^X, like ausearch -i
        else:
            out.append(chr(b))
    return "".join(out)


def _pairs(text: str) -> dict[str, str]:
    """Audit ``key=value`` pairs (the first of a repeated key wins)."""
    out: dict[str, str] = {}
    if _SIMPLE_PAIRS.fullmatch(text) is not None:
        # _PAIR would split exactly at the words (see _SIMPLE_PAIRS), and a split is
        # several times cheaper than its lazy, look-ahead-per-character scan.
        for word in text.split():
            key, _, value = word.partition("=")
            out.setdefault(key, value)
        return out
    for key, value in _PAIR.findall(text):
        out.setdefault(key, value.strip())
    return out


def _execve(event: Event, pairs: dict[str, str]) -> None:
    """EXECVE ``a0..aN`` (and split ``aN[i]``) pairs to ``process.args``; they leave ``pairs``."""
    pieces: dict[int, list[tuple[int, str]]] = {}
    for key in [k for k in pairs if k[:1] == "a"]:
        number = key[1:]
        if number.isdigit() and number.isascii():
            # The usual "aN": no regex needed (a long command has hundreds of them).
            index, sub = int(number), 0
        else:
            m = _ARG.fullmatch(key)
            if m is None:
                if key.endswith("_len") and key[1:-4].isdigit():
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
    if argc is not None and argc.isdigit():
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


def _set(event: Event, path: str, value: Any) -> None:
    cur = event
    parts = path.split(".")
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


class AuditdParser(BaseParser):
    """Audit records (one line each) to ECS; the raw fields stay under ``auditd.log``."""

    id = "auditd.log"
    route_signals: ClassVar[tuple[str, ...]] = ("msg=audit(",)

    def accepts(self, raw: RawEvent) -> bool:
        return " msg=audit(" in raw.message

    def parse(self, raw: RawEvent) -> Event:
        m = _RECORD.match(raw.message)
        if m is None:
            raise ParseError(self.id, "not an audit record (type=... msg=audit(epoch:serial): ...)")
        event = self.new_event(raw)
        try:
            ts = datetime.fromtimestamp(float(m.group("epoch")), UTC)
        except (OverflowError, ValueError, OSError):
            raise ParseError(self.id, f"audit timestamp out of range: {m.group('epoch')}") from None
        event["@timestamp"] = format_timestamp(ts)
        record_type = m.group("type")
        log: dict[str, Any] = {"sequence": int(m.group("serial"))}
        # "old auid=X new auid=Y" (older kernels) becomes distinct keys before pairing.
        body = m.group("body")
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
            if value in ("?", "(null)", ""):
                continue
            if key in HEX_KEYS and _is_hex(value):
                value = decode_hex(value)
            if value[:1] in ("'", '"'):
                value = value[1:]
            if value[-1:] in ("'", '"'):
                value = value[:-1]
            log[key] = value
        self._ecs(event, record_type, log)
        return event

    @staticmethod
    def _ecs(event: Event, record_type: str, log: dict[str, Any]) -> None:
        ecs = event["event"]
        arch = log.pop("arch", None)
        if arch is not None:
            _set(event, "host.architecture", _ARCHES.get(arch, arch))
        _subject(event, record_type, log)
        keep_uid = log.pop("_keep_uid", False)
        for key, target in _RENAMES:
            if key not in log:
                continue
            if key == "uid" and keep_uid:
                continue  # user.id is the audit id here; the raw uid stays in auditd.log
            if target == "user.name" and "name" in event.get("user", {}):
                continue
            if key == "auid" or target not in ("user.id",) or "id" not in event.get("user", {}):
                _set(event, target, log.pop(key))
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
            with contextlib.suppress(ValueError):
                event[side]["ip"] = str(ipaddress.ip_address(value))
        for key in ("dst_prefixlen", "src_prefixlen"):
            if key in log and str(log[key]).isdigit():
                log[key] = int(log[key])
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
        user = event.get("user", {})
        add_related(event, "user", user.get("name"))
