"""The Sigma value modifiers and conditions, each with a matching and a non-matching event.

Every case runs through both the compiled engine and the naive reference evaluator
(:class:`tests.rules.helpers.Both` asserts they agree).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.rules.helpers import Both, load_text, rule_yaml, win_event

CASES: list[tuple[str, dict[str, str], dict[str, str]]] = [
    # (detection, fields of a matching event, fields of a non-matching event)
    ("    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel",
     {"Image": "C:\\WINDOWS\\System32\\CMD.EXE"}, {"Image": "C:\\cmd.exe.bak"}),
    ("    sel:\n        CommandLine|contains: 'whoami'\n    condition: sel",
     {"CommandLine": "cmd /c WhoAmI /all"}, {"CommandLine": "who am i"}),
    ("    sel:\n        Image|startswith: 'C:\\Temp\\'\n    condition: sel",
     {"Image": "c:\\temp\\a.exe"}, {"Image": "D:\\C:\\Temp\\a.exe"}),
    ("    sel:\n        CommandLine: 'net user'\n    condition: sel",
     {"CommandLine": "NET USER"}, {"CommandLine": "net user x"}),
    ("    sel:\n        CommandLine|contains|all:\n            - ' -enc '\n            - 'hidden'\n    condition: sel",
     {"CommandLine": "powershell -w hidden -enc AAA"}, {"CommandLine": "powershell -enc AAA"}),
    ("    sel:\n        CommandLine|cased: 'Secret'\n    condition: sel",
     {"CommandLine": "Secret"}, {"CommandLine": "secret"}),
    ("    sel:\n        CommandLine|contains|cased: 'ABC'\n    condition: sel",
     {"CommandLine": "xxABCxx"}, {"CommandLine": "xxabcxx"}),
    ("    sel:\n        Image: 'C:\\a?c.exe'\n    condition: sel",
     {"Image": "c:\\abc.exe"}, {"Image": "c:\\abbc.exe"}),
    ("    sel:\n        Image: '*\\sys*\\cmd.exe'\n    condition: sel",
     {"Image": "C:\\Windows\\System32\\cmd.exe"}, {"Image": "C:\\Windows\\cmd.exe"}),
    ("    sel:\n        ParentImage|exists: true\n    condition: sel",
     {"ParentImage": ""}, {"Image": "x"}),
    ("    sel:\n        ParentImage|exists: false\n    condition: sel",
     {"Image": "x"}, {"ParentImage": "y"}),
    ("    sel:\n        ParentImage: null\n    condition: sel",
     {"Image": "x"}, {"ParentImage": "y"}),
    ("    sel:\n        CommandLine: ''\n    condition: sel",
     {"CommandLine": ""}, {"CommandLine": "x"}),
    ("    sel:\n        CommandLine|re: 'a[0-9]+b'\n    condition: sel",
     {"CommandLine": "xxa123bxx"}, {"CommandLine": "xxA123Bxx"}),
    ("    sel:\n        CommandLine|re|i: 'a[0-9]+b'\n    condition: sel",
     {"CommandLine": "xxA123Bxx"}, {"CommandLine": "ab"}),
    ("    sel:\n        CommandLine|re|m: '^second$'\n    condition: sel",
     {"CommandLine": "first\nsecond\nthird"}, {"CommandLine": "first second"}),
    ("    sel:\n        CommandLine|re|s: 'a.b'\n    condition: sel",
     {"CommandLine": "a\nb"}, {"CommandLine": "a\n\nb"}),
    ("    sel:\n        CommandLine|base64: 'whoami'\n    condition: sel",
     {"CommandLine": base64.b64encode(b"whoami").decode()}, {"CommandLine": "whoami"}),
    ("    sel:\n        CommandLine|base64offset|contains: 'http://'\n    condition: sel",
     {"CommandLine": "x " + base64.b64encode(b"AAhttp://evil").decode()}, {"CommandLine": "http://"}),
    ("    sel:\n        CommandLine|utf16le|base64offset|contains: 'Invoke'\n    condition: sel",
     {"CommandLine": "-enc " + base64.b64encode("xInvoke-X".encode("utf-16le")).decode()},
     {"CommandLine": "-enc " + base64.b64encode(b"Invoke").decode()}),
    ("    sel:\n        CommandLine|wide|base64offset|contains: 'ping'\n    condition: sel",
     {"CommandLine": base64.b64encode("ping 1".encode("utf-16le")).decode()}, {"CommandLine": "ping"}),
    ("    sel:\n        CommandLine|utf16be|base64offset|contains: 'ping'\n    condition: sel",
     {"CommandLine": base64.b64encode("ping 1".encode("utf-16be")).decode()},
     {"CommandLine": base64.b64encode("ping 1".encode("utf-16le")).decode()}),
    ("    sel:\n        CommandLine|utf16le|base64: 'ab'\n    condition: sel",
     {"CommandLine": base64.b64encode("ab".encode("utf-16le")).decode()}, {"CommandLine": "ab"}),
    ("    sel:\n        CommandLine|windash|contains: ' -exec bypass'\n    condition: sel",
     {"CommandLine": "powershell /exec bypass"}, {"CommandLine": "powershell exec bypass"}),
    ("    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel",
     {"DestinationIp": "10.2.3.4"}, {"DestinationIp": "11.2.3.4"}),
    ("    sel:\n        DestinationIp|cidr: 'fe80::/10'\n    condition: sel",
     {"DestinationIp": "fe80::1"}, {"DestinationIp": "not-an-ip"}),
    ("    sel:\n        TerminalSessionId|gt: 2\n    condition: sel",
     {"TerminalSessionId": "3"}, {"TerminalSessionId": "2"}),
    ("    sel:\n        TerminalSessionId|gte: 2\n    condition: sel",
     {"TerminalSessionId": "2"}, {"TerminalSessionId": "1"}),
    ("    sel:\n        TerminalSessionId|lt: 2\n    condition: sel",
     {"TerminalSessionId": "1"}, {"TerminalSessionId": "x"}),
    ("    sel:\n        TerminalSessionId|lte: 2\n    condition: sel",
     {"TerminalSessionId": "2"}, {"TerminalSessionId": "3"}),
    ("    sel:\n        TerminalSessionId: 2\n    condition: sel",
     {"TerminalSessionId": "2"}, {"TerminalSessionId": "22"}),
    ("    sel:\n        ParentImage|fieldref: Image\n    condition: sel",
     {"Image": "C:\\a.exe", "ParentImage": "c:\\A.exe"}, {"Image": "a", "ParentImage": "b"}),
    ("    sel:\n        CommandLine|fieldref|contains: Image\n    condition: sel",
     {"Image": "a.exe", "CommandLine": "run a.exe now"}, {"Image": "b.exe", "CommandLine": "run a.exe"}),
    ("    sel:\n        Image|endswith:\n            - '\\a.exe'\n            - '\\b.exe'\n            - '\\c.exe'\n"
     "            - 'exact'\n            - 'pre*'\n    condition: sel",
     {"Image": "PREFIX"}, {"Image": "C:\\d.exe"}),
    ("    keywords:\n        - 'mimikatz'\n        - 'sekurlsa'\n    condition: keywords",
     {"CommandLine": "run SEKURLSA::logonpasswords"}, {"CommandLine": "nothing"}),
    ("    sel_a:\n        Image|endswith: 'a.exe'\n    sel_b:\n        Image|endswith: 'b.exe'\n"
     "    condition: 1 of sel_*",
     {"Image": "b.exe"}, {"Image": "c.exe"}),
    ("    sel_a:\n        Image|endswith: 'a.exe'\n    sel_b:\n        CommandLine|contains: 'x'\n"
     "    condition: all of sel_*",
     {"Image": "a.exe", "CommandLine": "x"}, {"Image": "a.exe", "CommandLine": "y"}),
    ("    sel_a:\n        Image|endswith: 'a.exe'\n    sel_b:\n        CommandLine|contains: 'x'\n"
     "    condition: 1 of them",
     {"CommandLine": "x"}, {"CommandLine": "y"}),
    ("    sel:\n        Image|endswith: 'a.exe'\n    filter:\n        CommandLine|contains: 'safe'\n"
     "    condition: sel and not filter",
     {"Image": "a.exe", "CommandLine": "bad"}, {"Image": "a.exe", "CommandLine": "safe"}),
    ("    a:\n        Image: 'x'\n    b:\n        Image: 'y'\n    c:\n        CommandLine: 'z'\n"
     "    condition: (a or b) and not c",
     {"Image": "y", "CommandLine": "w"}, {"Image": "x", "CommandLine": "z"}),
    ("    sel:\n        - Image: 'x'\n        - CommandLine: 'y'\n    condition: sel",
     {"CommandLine": "y"}, {"Image": "y"}),
    ("    sel:\n        Image|neq: 'C:\\a.exe'\n    condition: sel",
     {"Image": "C:\\b.exe"}, {"Image": "c:\\A.EXE"}),
    ("    sel:\n        CommandLine|contains: '*'\n    condition: sel",
     {"CommandLine": ""}, {"Image": "x"}),
]


@pytest.mark.parametrize(("detection", "hit", "miss"), CASES, ids=[c[0].split("\n")[1].strip() for c in CASES])
def test_modifier_semantics(tmp_path: Path, detection: str, hit: dict[str, str], miss: dict[str, str]) -> None:
    both = Both(load_text(tmp_path, rule_yaml(detection)))
    assert both.hits(win_event(**hit)) == ["t"]
    assert both.hits(win_event(**miss)) == []


def test_expand_placeholders(tmp_path: Path) -> None:
    detection = "    sel:\n        User|expand: '%admins%'\n    condition: sel"
    ruleset = load_text(tmp_path, rule_yaml(detection), placeholders={"admins": ["alice", "bob"]})
    both = Both(ruleset)
    assert both.hits(win_event(User="BOB")) == ["t"]
    assert both.hits(win_event(User="carol")) == []


def test_unresolved_placeholder_is_a_rule_error_with_its_line(tmp_path: Path) -> None:
    detection = "    sel:\n        User|expand: '%admins%'\n    condition: sel"
    ruleset = load_text(tmp_path, rule_yaml(detection))
    assert ruleset.rules == []
    (err,) = ruleset.errors
    assert err.path == str(tmp_path / "rule.yml")
    assert err.line == 9  # the line holding %admins%
    assert "%admins%" in str(err)


def test_timestamp_part_modifiers_are_refused_not_misread(tmp_path: Path) -> None:
    from rules.sigma import SigmaEngine

    ruleset = load_text(tmp_path, rule_yaml("    sel:\n        UtcTime|hour: 3\n    condition: sel"))
    engine = SigmaEngine(ruleset)
    assert engine.match(win_event(UtcTime="3")) == []
    assert len(engine.errors) == 1 and "timestamp part" in str(engine.errors[0])
