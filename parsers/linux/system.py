"""``system.syslog`` and ``system.auth``: Linux/macOS syslog files to ECS.

Both split the syslog header with :mod:`parsers.syslog`. ``system.auth`` then routes the
message by a cheap test (its first words, a marker such as `` TTY=``) to ONE grok pattern
from ``patterns/linux-auth.grok`` and categorises the event as Filebeat's system module
does (sshd logins, sudo, PAM sessions, useradd/groupadd).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, ClassVar, cast

from parsers.base import BaseParser, MultilineFramer, ParserOptions
from parsers.community_id import is_ip
from parsers.grok import GrokPattern, default_library, set_fields
from parsers.syslog import SyslogHeader, apply_header, split_syslog
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related

# Filebeat's system module joins lines that start with whitespace to the previous line.
SYSLOG_FRAMER = MultilineFramer(r"\S")


class SyslogHeaderParser(BaseParser):
    """Base for parsers of syslog-framed text: splits the header or raises ParseError."""

    framer = SYSLOG_FRAMER
    require_program: ClassVar[bool] = False

    def header(self, raw: RawEvent) -> SyslogHeader:
        header = split_syslog(raw.message, self.options.tz, self.options.clock.now(), self.require_program)
        if header is None:
            raise ParseError(self.id, "no syslog header (timestamp, host, program) found")
        return header


class SystemSyslogParser(SyslogHeaderParser):
    """Generic syslog: header fields, and the rest as ``message``."""

    id = "system.syslog"
    syslog_programs: ClassVar[tuple[str, ...]] = ()

    def parse(self, raw: RawEvent) -> Event:
        header = self.header(raw)
        event = self.new_event(raw)
        apply_header(event, header)
        return event


def _sshd_route(message: str) -> str | None:
    """Pick the one sshd pattern that can match, from the message's wording."""
    if message.startswith(("Disconnected from", "Connection closed by", "Connection reset by",
                           "Received disconnect from")):
        return "SSHD_CLIENT_CLOSED"
    if message.startswith("Unable to negotiate"):
        return "SSHD_NEGOTIATE"
    if message.startswith("User ") and " not allowed " in message:
        return "SSHD_NOT_ALLOWED"
    if "Timeout before authentication" in message:
        return "SSHD_TIMEOUT"
    if "onnection from " in message:
        return "SSHD_CONNECTION_FROM"
    if " handshake from " in message:
        return "SSHD_HANDSHAKE"
    if message.startswith("refused connect from"):
        return "SSHD_REFUSED"
    if message.startswith("pam_unix(sshd:auth): authentication failure"):
        return "SSHD_PAM_FAILURE"
    return None


_SSH_OUTCOMES = {"Accepted": "success", "Invalid": "failure", "Failed": "failure"}
_NO: dict[str, Any] = {}  # read-only default for .get chains: never written to
_IAM_TYPES = {
    "useradd": ("user", "creation"), "userdel": ("user", "deletion"), "usermod": ("user", "change"),
    "groupadd": ("group", "creation"), "groupdel": ("group", "deletion"), "groupmod": ("group", "change"),
}


def _plain_groups(pattern: GrokPattern, paths: tuple[str, ...]) -> tuple[int, ...]:
    """The ``m.groups()`` positions of ``pattern``'s captures, which must be exactly ``paths``
    with no casts: then the groups are what ``pattern.match`` returns (bar empty ones).
    A ``ValueError`` at start-up if an edit of the grok file breaks that."""
    slots = pattern.slots
    if tuple(slot.path for slot in slots) != paths or any(slot.cast is not None for slot in slots):
        raise ValueError(f"{pattern.text}: captures are not exactly {paths} without casts")
    return tuple(slot.group for slot in slots)


class SystemAuthParser(SyslogHeaderParser):
    """``/var/log/auth.log`` / ``secure``: sshd, sudo, su, PAM, useradd and groupadd."""

    id = "system.auth"
    require_program = True
    syslog_programs: ClassVar[tuple[str, ...]] = (
        "sshd", "sudo", "su", "useradd", "userdel", "usermod", "groupadd", "groupdel", "groupmod",
        "passwd", "chpasswd", "login", "systemd-logind", "polkitd", "pkexec", "doas", "chage", "vsftpd",
        "unix_chkpwd", "sshd-session", "gdm-password", "chfn", "chsh",
    )
    # PAM's own messages ("pam_unix(cron:session): session opened for user root") are
    # authentication events whatever program logs them (cron, systemd-user...).
    route_signals: ClassVar[tuple[str, ...]] = ("pam_unix(",)

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        lib = default_library()
        self._login: GrokPattern = lib.compile("%{SSHD_LOGIN}")
        self._user_from = lib.compile("%{SSHD_USER_FROM}")
        self._dropped = lib.compile("%{SSHD_DROPPED}")
        self._sudo = lib.compile("%{SUDO_COMMAND}")
        self._sudo_no_error = lib.compile("%{SUDO_COMMAND_NO_ERROR}")
        self._new_group = lib.compile("%{NEW_GROUP}")
        self._new_user = lib.compile("%{NEW_USER}")
        self._pam_for_by = lib.compile("%{PAM_FOR_BY}")
        self._pam_for = lib.compile("%{PAM_FOR}")
        self._pam_by = lib.compile("%{PAM_BY}")
        self._pam_for_by_groups = cast(
            "Callable[[tuple[str | Any, ...]], tuple[str | None, str | None, str | None]]",
            itemgetter(*_plain_groups(self._pam_for_by, ("_for", "_by", "_uid"))),
        )
        # m.group() numbers groups from 1 (0 is the whole match); slots count from 0.
        self._pam_for_group = _plain_groups(self._pam_for, ("_for",))[0] + 1
        self._pam_by_group = _plain_groups(self._pam_by, ("_by",))[0] + 1
        self._sshd_more = lib.router(_sshd_route, {
            name: f"%{{{name}}}" for name in (
                "SSHD_CLIENT_CLOSED", "SSHD_NEGOTIATE", "SSHD_NOT_ALLOWED", "SSHD_TIMEOUT", "SSHD_CONNECTION_FROM",
                "SSHD_HANDSHAKE", "SSHD_REFUSED", "SSHD_PAM_FAILURE",
            )
        })

    def _specific(self, message: str) -> dict[str, Any] | None:
        """Route by a cheap test to the one pattern that can match."""
        if message.startswith("new user: "):
            return self._new_user.match(message)
        if message.startswith("new group: "):
            return self._new_group.match(message)
        if message.startswith("Did not receive identification"):
            return self._dropped.match(message)
        if " TTY=" in message:
            if " ; TTY=" not in message:
                # (see SUDO_COMMAND_NO_ERROR in patterns/linux-auth.grok)
                return self._sudo_no_error.match(message)
            return self._sudo.match(message)
        if " from " in message:
            if " ssh2" in message:
                fields = self._login.match(message)
                if fields is not None:
                    return fields
            if " user " in message:
                return self._user_from.match(message)
        return None

    def _pam_users(self, message: str) -> tuple[str | None, str | None, str | None]:
        """PAM's ``(for, by, uid)`` users; ``None`` (or ``""``) for those not there.

        The PAM patterns have no casts and one capture per path, so their groups are read
        by position: ``GrokPattern.match`` would build (and the caller probe) a dict.
        """
        if "for user " in message:
            if " by " in message:
                m = self._pam_for_by.regex.fullmatch(message)
                if m is not None:
                    return self._pam_for_by_groups(m.groups())
            m = self._pam_for.regex.fullmatch(message)
            if m is not None:
                return m.group(self._pam_for_group), None, None
        elif "by user " in message:
            m = self._pam_by.regex.fullmatch(message)
            if m is not None:
                return None, m.group(self._pam_by_group), None
        return None, None, None

    def parse(self, raw: RawEvent) -> Event:
        header = self.header(raw)
        event = self.new_event(raw)
        message = header.message.lstrip()
        header.message = message
        specific = self._specific(message)
        apply_header(event, header, message=specific is None)
        if specific is not None:
            if "system.auth.ssh.dropped_ip" in specific:
                specific["source.ip"] = specific["system.auth.ssh.dropped_ip"]
            if "source.ip" in specific:
                specific["source.address"] = specific["source.ip"]
            set_fields(event, specific)
        else:
            if header.program == "sshd":
                self._sshd_client(event, message)
            if "user" not in event:
                # Empty captures count as absent, as GrokPattern.match leaves them out.
                for_, by, uid = self._pam_users(message)
                if for_ or by or uid:
                    user = event.setdefault("user", {})
                    if by:
                        user["name"] = by
                    if uid:
                        user["id"] = uid
                    if for_:
                        if "name" in user:
                            user["effective"] = {"name": for_}
                        else:
                            user["name"] = for_
        auth = event.get("system", _NO).get("auth", _NO)
        sudo = auth.get("sudo")
        if sudo and "user" in sudo:
            event.setdefault("user", {})["effective"] = {"name": sudo["user"]}
        self._categorise(event, header.program, auth)
        user = event.get("user")
        if user:
            add_related(event, "user", user.get("name"), user.get("effective", _NO).get("name"))
        source = event.get("source")
        if source:
            add_related(event, "ip", source.get("ip"))
        return event

    def _sshd_client(self, event: Event, message: str) -> None:
        """Client address and user from the sshd messages Filebeat leaves as text."""
        found = self._sshd_more.match(message)
        if found is None:
            return
        fields = found[1]
        address = fields.pop("source.address", None)
        if isinstance(address, str) and is_ip(address):
            fields["source.ip"] = address
        if "source.ip" in fields:
            fields["source.address"] = fields["source.ip"]
        set_fields(event, fields)

    @staticmethod
    def _categorise(event: Event, program: str | None, auth: dict[str, Any]) -> None:
        ecs = event["event"]
        ssh_event = auth.get("ssh", _NO).get("event")
        outcome = _SSH_OUTCOMES.get(ssh_event) if ssh_event else None
        if outcome is not None:
            ecs["type"] = ["info"]
            ecs["category"] = ["authentication", "session"] if outcome == "success" else ["authentication"]
            ecs["action"] = "ssh_login"
            ecs["outcome"] = outcome
        iam = _IAM_TYPES.get(program or "")
        if iam is not None:
            ecs.setdefault("category", []).append("iam")
            ecs["outcome"] = "success"
            ecs.setdefault("type", []).extend(iam)
