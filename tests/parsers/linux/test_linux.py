"""Hand-written samples for the Linux parsers: each field and each failure path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from parsers.base import ParserOptions
from parsers.linux.auditd import AuditdParser, decode_hex
from parsers.linux.iptables import IptablesParser
from parsers.linux.system import SystemAuthParser, SystemSyslogParser
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import RawEvent

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParserOptions(tz=timezone(timedelta(hours=-2)), clock=FrozenClock(NOW))


def raw(text: str) -> RawEvent:
    return RawEvent.from_bytes(text.encode(), "/var/log/x.log", NOW, 42)


def test_syslog_event_keeps_identity_and_original() -> None:
    line = "Nov 22 09:00:00 web1 nginx[77]: started"
    event = SystemSyslogParser(OPTIONS).parse(raw(line))
    assert event["event"]["original"] == line
    assert event["event"]["dataset"] == "system.syslog"
    assert event["log"] == {"file": {"path": "/var/log/x.log"}, "offset": 42}
    assert event["@timestamp"] == "2026-11-22T11:00:00.000Z"
    assert event["process"] == {"name": "nginx", "pid": 77}
    assert event["message"] == "started"


def test_syslog_rejects_headerless_text() -> None:
    with pytest.raises(ParseError) as info:
        SystemSyslogParser(OPTIONS).parse(raw("just some words"))
    assert info.value.parser_id == "system.syslog"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Accepted publickey for bob from 10.0.0.9 port 50022 ssh2: ED25519 SHA256:abc",
         {"outcome": "success", "user": "bob", "ip": "10.0.0.9", "port": 50022,
          "category": ["authentication", "session"]}),
        ("Failed password for invalid user admin from 203.0.113.5 port 4242 ssh2",
         {"outcome": "failure", "user": "admin", "ip": "203.0.113.5", "port": 4242, "category": ["authentication"]}),
        ("Invalid user test from 10.0.2.2", {"outcome": "failure", "user": "test", "ip": "10.0.2.2"}),
    ],
)
def test_auth_sshd(message: str, expected: dict[str, object]) -> None:
    event = SystemAuthParser(OPTIONS).parse(raw(f"Nov 22 09:00:00 h sshd[1]: {message}"))
    assert event["event"]["outcome"] == expected["outcome"]
    assert event["event"]["action"] == "ssh_login"
    assert event["user"]["name"] == expected["user"]
    assert event["source"]["ip"] == expected["ip"]
    assert event["related"]["ip"] == [expected["ip"]]
    if "port" in expected:
        assert event["source"]["port"] == expected["port"]
    if "category" in expected:
        assert event["event"]["category"] == expected["category"]
    assert "message" not in event


def test_auth_sudo_pam_and_useradd() -> None:
    parser = SystemAuthParser(OPTIONS)
    sudo = parser.parse(raw("Nov 22 09:00:00 h sudo:  alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
                            "COMMAND=/usr/bin/id -u"))
    assert sudo["user"] == {"name": "alice", "effective": {"name": "root"}}
    assert sudo["system"]["auth"]["sudo"]["command"] == "/usr/bin/id -u"
    pam = parser.parse(raw("Nov 22 09:00:00 h su: pam_unix(su:session): session opened for user root "
                           "by alice(uid=1000)"))
    assert pam["user"] == {"name": "alice", "id": "1000", "effective": {"name": "root"}}
    assert pam["message"].startswith("pam_unix")
    new_user = parser.parse(raw("Nov 22 09:00:00 h useradd[9]: new user: name=svc, UID=998, GID=998, "
                                "home=/srv, shell=/sbin/nologin"))
    assert new_user["event"]["category"] == ["iam"]
    assert new_user["event"]["type"] == ["user", "creation"]
    assert new_user["user"] == {"name": "svc", "id": "998"}
    with pytest.raises(ParseError):
        parser.parse(raw("Nov 22 09:00:00 no program here"))


def test_iptables_tcp_and_ubiquiti() -> None:
    parser = IptablesParser(OPTIONS)
    event = parser.parse(raw(
        "Nov 22 09:00:00 gw kernel: [123.4] FW-DROP: IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 "
        "SRC=203.0.113.9 DST=192.0.2.1 LEN=60 TOS=0x10 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=4444 DPT=22 "
        "WINDOW=29200 RES=0x00 SYN URGP=0"))
    assert event["event"]["action"] == "fw-drop"
    assert event["event"]["type"] == ["connection", "denied"]
    assert event["source"] == {"mac": "66:77:88:99:aa:bb", "ip": "203.0.113.9", "port": 4444}
    assert event["destination"]["port"] == 22
    assert event["iptables"]["tos"] == 16 and event["iptables"]["tcp"]["flags"] == ["SYN"]
    assert event["network"]["type"] == "ipv4" and event["network"]["transport"] == "tcp"
    assert event["observer"]["name"] == "gw"
    ubnt = parser.parse(raw("Nov 22 09:00:00 er kernel: [LAN_IN-10-A]IN=eth1 OUT=eth0 SRC=10.0.0.2 DST=8.8.8.8 "
                            "LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=UDP SPT=5000 DPT=53 LEN=20"))
    assert ubnt["event"]["action"] == "accept" and ubnt["event"]["type"] == ["connection", "allowed"]
    assert ubnt["rule"] == {"id": "10", "name": "LAN_IN"}
    assert ubnt["iptables"]["udp"] == {"length": 20}
    with pytest.raises(ParseError):
        parser.parse(raw("Nov 22 09:00:00 gw kernel: something else"))
    with pytest.raises(ParseError):
        parser.parse(raw("IN=eth0 OUT= SRC=not-an-ip DST=1.2.3.4 PROTO=TCP"))


def test_auditd_records() -> None:
    parser = AuditdParser(OPTIONS)
    event = parser.parse(raw(
        'type=USER_LOGIN msg=audit(1700000000.123:77): pid=1 uid=0 auid=1000 ses=3 msg=\'op=login acct="bob" '
        'exe="/usr/sbin/sshd" hostname=? addr=198.51.100.7 terminal=ssh res=failed\''))
    assert event["@timestamp"] == "2023-11-14T22:13:20.123Z"
    assert event["event"]["action"] == ["logged-in"]
    assert event["event"]["outcome"] == "failed"
    assert event["user"]["name"] == "bob" and event["user"]["id"] == "1000"
    assert event["source"] == {"address": "198.51.100.7", "ip": "198.51.100.7"}
    assert event["auditd"]["log"]["sequence"] == 77
    execve = parser.parse(raw('type=EXECVE msg=audit(1700000000.1:78): argc=2 a0="ls" a1=2D6C61'))
    assert execve["process"] == {"args": ["ls", "2D6C61"], "args_count": 2, "executable": "ls"}
    with pytest.raises(ParseError):
        parser.parse(raw("type=SYSCALL no audit header"))


def test_decode_hex_only_when_needed() -> None:
    assert decode_hex("2F62696E2F6C73202D6C") == "/bin/ls -l"
    assert decode_hex("deadbeef") == "deadbeef"
    assert decode_hex("6C730A") == "ls^J"
