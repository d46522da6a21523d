"""Issue #20 item 4: Sigma keywords search the message text, as the backends' default
field does, not the syslog header (SigmaHQ's "Remote File Copy" keyword ``:`` matched the
timestamp of every ``sftp`` line)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from parsers.base import ParserOptions
from rules.sigma import SigmaEngine, load_rules
from rules.sigma.reference import ReferenceEvaluator
from soc_core.clock import FrozenClock
from soc_core.event import RawEvent
from soc_core.registry import default_registry

# The detection of SigmaHQ's rules/linux/builtin/lnx_file_copy.yml (stable), verbatim.
REMOTE_FILE_COPY = """\
title: Remote File Copy
id: 7a14080d-a048-4de8-ae58-604ce58a795b
status: stable
logsource:
    product: linux
detection:
    tools:
        - 'scp '
        - 'rsync '
        - 'sftp '
    filter:
        - '@'
        - ':'
    condition: tools and filter
level: low
"""


def _parse(line: str) -> dict[str, object]:
    clock = FrozenClock(datetime(2026, 12, 7, tzinfo=UTC))
    parser = default_registry().get("parser", "auto")(ParserOptions(tz=UTC, clock=clock))
    raw = RawEvent(line.encode(), source="test", received=clock.now(), offset=0)
    event: dict[str, object] = parser.parse(raw)
    return event


def test_keyword_colon_does_not_match_the_syslog_timestamp(tmp_path: Path) -> None:
    (tmp_path / "copy.yml").write_text(REMOTE_FILE_COPY)
    ruleset = load_rules([str(tmp_path)])
    engine, reference = SigmaEngine(ruleset), ReferenceEvaluator(ruleset)
    benign = _parse("Dec  7 10:00:00 srv sshd[123]: subsystem request for sftp by user vagrant")
    copying = _parse("Dec  7 10:00:01 srv bash[77]: sftp backup@10.0.0.5:/srv/data")
    assert benign.get("message") == "subsystem request for sftp by user vagrant"
    for matcher in (engine, reference):
        assert [r.title for r in matcher.match(benign)] == []
        assert [r.title for r in matcher.match(copying)] == ["Remote File Copy"]


def test_an_event_without_message_is_searched_on_its_original_text(tmp_path: Path) -> None:
    (tmp_path / "k.yml").write_text(
        "title: Failed password keyword\nid: 5b2a3c1e-0000-4000-8000-000000000001\n"
        "logsource:\n    product: linux\ndetection:\n    keywords:\n        - 'Failed password'\n"
        "    condition: keywords\nlevel: low\n"
    )
    ruleset = load_rules([str(tmp_path)])
    event = _parse("Dec  7 10:00:00 srv sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2")
    assert "message" not in event  # the system.auth parser moves it into fields
    assert [r.title for r in SigmaEngine(ruleset).match(event)] == ["Failed password keyword"]
    assert [r.title for r in ReferenceEvaluator(ruleset).match(event)] == ["Failed password keyword"]
