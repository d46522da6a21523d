"""Pins of the Linux parsers' hot-path shortcuts to the code they replace.

``SystemAuthParser`` reads the PAM patterns' groups by position instead of calling
``GrokPattern.match``, and matches sudo lines without " ; TTY=" with SUDO_COMMAND less its
optional "error ;" part. These tests hold both to the grok matches over random messages
built from the fragments those patterns (and their backtracking) care about. ``auditd``
caches the canonical IP text and splits its rename targets once, at import.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from parsers.linux import auditd
from parsers.linux.system import SystemAuthParser

# Words the patterns split on, plus quotes, brackets and spaces that move the lazy groups.
SUDO_FRAGMENTS = [
    "vagrant", "root", " : ", " :", ": ", " ; ", " ;", "; ", "TTY=", " TTY=", "TTY=pts/0", "PWD=", " PWD=",
    "/home/vagrant", "USER=", " USER=", "COMMAND=", " COMMAND=", " LANG=en_US.UTF-8 ;", " ENV=x ;", " A= ;",
    "/bin/sh -c echo", "a", " ", "=", "unknown", "user NOT in sudoers", "3 incorrect password attempts",
]
PAM_FRAGMENTS = [
    "pam_unix(sudo:session): session opened", "session closed", " for user ", "for user ", " by ", "by user ",
    " by user ", "root", "vagrant", '"', "(uid=", "(uid=1000)", "(uid=0)", ")", "1000", "-1", "+2", "1.5", " ",
    "x", "for", "user", "by", "(",
]


def _random_text(rng: random.Random, fragments: list[str], most: int) -> str:
    return "".join(rng.choice(fragments) for _ in range(rng.randint(0, most)))


def test_sudo_without_error_part_matches_as_sudo_command() -> None:
    parser = SystemAuthParser()
    rng = random.Random(20261207)
    matched = 0
    for _ in range(5000):
        message = _random_text(rng, SUDO_FRAGMENTS, 14)
        if rng.random() < 0.5:
            # The usual shape, with random parts: most of these match.
            message = (f"{_random_text(rng, SUDO_FRAGMENTS, 2)} : TTY={_random_text(rng, SUDO_FRAGMENTS, 2)} ; "
                       f"PWD={_random_text(rng, SUDO_FRAGMENTS, 2)} ; USER={_random_text(rng, SUDO_FRAGMENTS, 2)} ;"
                       f"{_random_text(rng, SUDO_FRAGMENTS, 2)} COMMAND={_random_text(rng, SUDO_FRAGMENTS, 4)}")
        if " ; TTY=" in message:
            continue  # the shortcut's precondition: there the error part could match
        fast = parser._sudo_no_error.match(message)
        slow = parser._sudo.match(message)
        assert fast == slow, message
        assert list(fast or ()) == list(slow or ()), message
        matched += slow is not None
    assert matched > 500


def _pam_reference(parser: SystemAuthParser, message: str) -> dict[str, Any] | None:
    """The PAM routing as it was, with ``GrokPattern.match``."""
    if "for user " in message:
        if " by " in message:
            found = parser._pam_for_by.match(message)
            if found is not None:
                return found
        return parser._pam_for.match(message)
    if "by user " in message:
        return parser._pam_by.match(message)
    return None


def test_pam_groups_read_by_position_equal_grok_match() -> None:
    parser = SystemAuthParser()
    rng = random.Random(7)
    found = 0
    for _ in range(5000):
        message = _random_text(rng, PAM_FRAGMENTS, 12)
        reference = _pam_reference(parser, message) or {}
        fast = parser._pam_users(message)
        # Empty captures are absent from a grok match; the tuple may hold them as "".
        assert tuple(value or None for value in fast) == (
            reference.get("_for"), reference.get("_by"), reference.get("_uid")), message
        found += bool(reference)
    assert found > 1000


def test_auditd_rename_steps_are_the_renames_split() -> None:
    assert [(key, target) for key, target, _, _ in auditd._RENAME_STEPS] == list(auditd._RENAMES)
    for _, target, parents, leaf in auditd._RENAME_STEPS:
        assert ".".join((*parents, leaf)) == target


def test_auditd_canonical_ip_is_ipaddress_text() -> None:
    rng = random.Random(3)
    pieces = ["127", "0", "1", "255", "256", "010", ".", ":", "::", "ffff", "fe80", "%eth0", "a", "", " ", "1.2.3.4"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        try:
            expected: str | None = str(ipaddress.ip_address(text))
        except ValueError:
            expected = None
        assert auditd._canonical_ip(text) == expected, text
