"""``auto``: per-line routing from cheap signals, fallbacks, dead letters, and file reading."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_one
from parsers.auto import AutoParser
from parsers.base import BaseParser, ParserOptions
from soc_core.clock import FrozenClock
from soc_core.contracts import FileReader
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent
from soc_core.registry import Registry
from tests.conftest import corpus_path

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParserOptions(tz=UTC, clock=FrozenClock(NOW))


def raw(text: str, source: str = "mixed.log") -> RawEvent:
    return RawEvent.from_bytes(text.encode(), source, NOW, 0)


@pytest.mark.parametrize(
    ("line", "dataset"),
    [
        ("Feb 21 21:54:44 localhost sshd[3402]: Accepted password for bob from 10.0.2.2 port 22 ssh2", "system.auth"),
        ("Feb 21 21:54:44 localhost sudo: bob : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls", "system.auth"),
        ("Feb 21 21:54:44 localhost systemd[1]: Started Session 1.", "system.syslog"),
        ("<13>1 2020-01-01T00:00:00Z host app 1 - - generic 5424", "system.syslog"),
        ("CEF:0|V|P|1|100|name|5|src=10.0.0.1", "cef.log"),
        ("Jan 18 11:07:53 host LEEF:1.0|V|P|1|7|src=10.0.0.1", "leef.log"),
        ("Oct 10 2018 12:34:56 fw %ASA-6-305011: Built dynamic TCP translation from inside:10.0.0.1/1 to "
         "outside:1.2.3.4/2", "cisco.asa"),
        ("2019-08-15T16:03:31Z fp %FTD-6-106100: access-list a permitted tcp i/10.0.0.1(1) -> o/1.2.3.4(2) x",
         "cisco.ftd"),
        ("Jan  8 03:37:09 h kernel: DROP: IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 TTL=1 "
         "ID=1 PROTO=TCP SPT=1 DPT=2", "iptables.log"),
        ("type=USER_CMD msg=audit(1489519256.192:19600329): pid=1 uid=0 auid=700 msg='cwd=\"/\" res=success'",
         "auditd.log"),
        # PAM messages are authentication events, whichever program logs them.
        ("Feb  9 22:17:01 precise32 CRON[9966]: pam_unix(cron:session): session opened for user root by (uid=0)",
         "system.auth"),
    ],
)
def test_routes_each_format_to_its_parser(line: str, dataset: str) -> None:
    event = AutoParser(OPTIONS).parse(raw(line))
    assert event["event"]["dataset"] == dataset
    assert event["event"]["original"] == line


def test_unclaimed_text_is_a_parse_error_from_auto() -> None:
    with pytest.raises(ParseError) as info:
        AutoParser(OPTIONS).parse(raw("no header, no signal, nothing"))
    assert info.value.parser_id == "auto"


def test_candidates_are_ordered_by_signal_specificity() -> None:
    auto = AutoParser(OPTIONS)
    assert auto.candidates(raw("x CEF:0|a|b|c|d|e|f|"))[0] == "cef.log"
    assert "system.auth" in auto.candidates(raw("Feb 21 21:54:44 h sshd[1]: x"))
    assert auto.candidates(raw("plain words")) == []


def test_mixed_file_through_soc_parse_path(tmp_path: Path) -> None:
    folder = corpus_path("beats_filebeat")
    parts = [
        folder / "cisco" / "asa" / "asa.log", folder / "iptables" / "log" / "iptables.log",
        folder / "system" / "auth" / "test.log", folder / "cef" / "log" / "cef.log",
        folder / "auditd" / "log" / "test.log", folder / "system" / "syslog" / "darwin-syslog-sample.log",
    ]
    mixed = tmp_path / "mixed.log"
    mixed.write_bytes(b"".join(p.read_bytes() for p in parts))
    auto = AutoParser(OPTIONS)
    stats, bugs = Stats(), BugLogger()
    events = [parse_one(auto, r, stats, bugs) for r in read_file_events(str(mixed), auto, NOW)]
    assert stats.failed == 0 and stats.parser_bugs == 0
    assert set(stats.per_parser) == {"cisco.asa", "iptables.log", "system.auth", "cef.log", "auditd.log",
                                     "system.syslog"}
    # Multi-line darwin entries stay one event; offsets point into the mixed file.
    assert len(events) == stats.received
    assert all(e["log"]["file"]["path"] == str(mixed) for e in events)


# --- a private registry: JSON keys, accepts() as the final check, .evtx delegation ----------


class JsonAlpha(BaseParser):
    id = "alpha.json"
    json_keys: ClassVar[tuple[str, ...]] = ("alpha", "meta.kind")

    def parse(self, raw: RawEvent) -> Event:
        return self.new_event(raw)


class JsonLoose(BaseParser):
    id = "loose.json"
    json_keys: ClassVar[tuple[str, ...]] = ("alpha",)

    def parse(self, raw: RawEvent) -> Event:
        return self.new_event(raw)


class Picky(BaseParser):
    id = "picky.log"
    route_signals: ClassVar[tuple[str, ...]] = ("PICK",)

    def accepts(self, raw: RawEvent) -> bool:
        return raw.message.endswith("ok")

    def parse(self, raw: RawEvent) -> Event:
        return self.new_event(raw)


class Evtx(BaseParser):
    id = "winlog"

    def read_file(self, path: str, received: datetime) -> Iterator[RawEvent]:
        yield RawEvent.from_bytes(b'{"EventID": 1}', path, received, 0)

    def parse(self, raw: RawEvent) -> Event:
        event = self.new_event(raw)
        event["winlog"] = {"read": True}
        return event


def private_registry() -> Registry:
    registry = Registry()
    for cls in (JsonAlpha, JsonLoose, Picky, Evtx):
        registry.register("parser", cls.id, cls, origin="test")
    registry.register("parser", "system.syslog", "parsers.linux.system:SystemSyslogParser", origin="test")
    return registry


def test_json_keys_prefer_the_most_specific_shape() -> None:
    auto = AutoParser(OPTIONS, registry=private_registry())
    assert auto.parse(raw('{"alpha": 1, "meta": {"kind": "x"}}'))["event"]["dataset"] == "alpha.json"
    assert auto.parse(raw('{"alpha": 1}'))["event"]["dataset"] == "loose.json"
    with pytest.raises(ParseError):
        auto.parse(raw('{"beta": 1}'))
    with pytest.raises(ParseError):
        auto.parse(raw("{not json"))


def test_accepts_has_the_last_word_then_syslog_fallback() -> None:
    auto = AutoParser(OPTIONS, registry=private_registry())
    assert auto.parse(raw("PICK ok"))["event"]["dataset"] == "picky.log"
    refused = auto.parse(raw("Feb 21 21:54:44 h app: PICK no"))
    assert refused["event"]["dataset"] == "system.syslog"


def test_evtx_files_go_to_winlog(tmp_path: Path) -> None:
    path = tmp_path / "a.evtx"
    path.write_bytes(b"\x00")
    auto = AutoParser(OPTIONS, registry=private_registry())
    assert isinstance(auto, FileReader)
    raws = list(auto.read_file(str(path), NOW))
    assert len(raws) == 1
    assert auto.parse(raws[0])["winlog"] == {"read": True}


def test_evtx_without_winlog_parser_is_a_parse_error(tmp_path: Path) -> None:
    registry = Registry()
    registry.register("parser", "system.syslog", "parsers.linux.system:SystemSyslogParser", origin="test")
    with pytest.raises(ParseError, match="winlog"):
        list(AutoParser(OPTIONS, registry=registry).read_file(str(tmp_path / "x.evtx"), NOW))


# --- routing overlaps found in review ---------------------------------------------------------

COMBINED = '10.0.0.1 - - [26/Feb/2019:15:39:42 +0100] "GET / HTTP/1.1" 200 612 "-" "curl/7.64.0"'


@pytest.mark.parametrize(
    ("source", "dataset"),
    [
        ("/var/log/nginx/access.log", "nginx.access"),
        ("/var/log/apache2/access.log", "apache.access"),
        ("/tmp/mixed.log", "apache.access"),  # no hint: the documented default
    ],
)
def test_combined_access_lines_follow_the_file_path(source: str, dataset: str) -> None:
    assert AutoParser(OPTIONS).parse(raw(COMBINED, source))["event"]["dataset"] == dataset


def test_fortigate_lines_without_devid_reach_fortinet() -> None:
    # FortiOS records may carry logid= and no devid=: fortinet.firewall's accepts() takes them.
    line = ('<190>date=2019-05-13 time=11:20:54 logid="0100032001" type="event" subtype="system" '
            'level="information" vd="vdom1" eventtime=1557771654587081441 logdesc="Admin login successful"')
    assert AutoParser(OPTIONS).parse(raw(line))["event"]["dataset"] == "fortinet.firewall"


@pytest.mark.parametrize(
    ("line", "dataset"),
    [
        ("Mar  1 10:00:00 rtr1 sshd[1234]: SSHD_LOGIN_FAILED: Login failed for user 'root' from host "
         "'10.0.0.1'", "juniper.junos"),
        ("Mar  1 10:00:00 srv sshd[1234]: Accepted password for bob from 10.0.0.1 port 22 ssh2", "system.auth"),
        ("Mar  1 10:00:00 rtr1 kernel: KERN_ARP_ADDR_CHANGE: arp info overwritten for 10.0.0.1", "juniper.junos"),
        ("Mar  1 10:00:00 srv kernel: [   12.3] usb 1-1: new high-speed USB device", "system.syslog"),
    ],
)
def test_programs_shared_with_junos(line: str, dataset: str) -> None:
    assert AutoParser(OPTIONS).parse(raw(line))["event"]["dataset"] == dataset


class CatchAll(BaseParser):
    id = "aaa.catchall"  # sorts first by name: strictness must beat the name
    syslog_programs: ClassVar[tuple[str, ...]] = ("shared",)

    def parse(self, raw: RawEvent) -> Event:
        return self.new_event(raw)


class Strict(BaseParser):
    id = "zzz.strict"
    syslog_programs: ClassVar[tuple[str, ...]] = ("shared",)

    def accepts(self, raw: RawEvent) -> bool:
        return "TAG_X" in raw.message

    def parse(self, raw: RawEvent) -> Event:
        return self.new_event(raw)


def test_a_shared_program_asks_the_parser_that_can_refuse_first() -> None:
    registry = Registry()
    for cls in (CatchAll, Strict):
        registry.register("parser", cls.id, cls, origin="test")
    auto = AutoParser(OPTIONS, registry=registry)
    assert auto.candidates(raw("Mar  1 10:00:00 h shared[1]: TAG_X: y")) == ["zzz.strict", "aaa.catchall"]
    assert auto.parse(raw("Mar  1 10:00:00 h shared[1]: TAG_X: y"))["event"]["dataset"] == "zzz.strict"
    assert auto.parse(raw("Mar  1 10:00:00 h shared[1]: plain"))["event"]["dataset"] == "aaa.catchall"


# --- file framing ------------------------------------------------------------------------------


def test_indented_lines_continue_only_multiline_events(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    path.write_bytes(
        b"Feb 21 21:54:44 h app[1]: first\n"
        b"    continued syslog text\n"
        b"random words without a header\n"
        b"  indented random words\n"
        b"Oct 10 2018 12:34:56 fw %ASA-6-305011: Built dynamic TCP translation from inside:10.0.0.1/1 to "
        b"outside:1.2.3.4/2\n"
        b"\tnot part of the ASA message\n"
    )
    raws = list(AutoParser(OPTIONS).read_file(str(path), NOW))
    assert [r.message for r in raws] == [
        "Feb 21 21:54:44 h app[1]: first\n    continued syslog text",
        "random words without a header",
        "  indented random words",
        raws[3].message,
        "\tnot part of the ASA message",
    ]
    assert raws[3].message.startswith("Oct 10 2018")
    assert [r.offset for r in raws[:3]] == [0, 32 + 26, 32 + 26 + 30]
    assert all(r.source == str(path) for r in raws)


def test_frame_file_reads_gzip_and_cuts_huge_events(tmp_path: Path) -> None:
    import gzip

    from parsers.base import LINE_FRAMER, MAX_EVENT_BYTES, frame_file

    path = tmp_path / "big.log.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"a" * (MAX_EVENT_BYTES + 10) + b"\nshort\n")
    raws = list(frame_file(str(path), LINE_FRAMER, NOW))
    assert [len(r.data) for r in raws] == [MAX_EVENT_BYTES, 5]
    assert raws[0].extra == {"truncated_from": MAX_EVENT_BYTES + 10}
    assert raws[1].offset == MAX_EVENT_BYTES + 11
    assert raws[1].source == str(path)


def test_windows_json_exports_go_to_winlog(tmp_path: Path) -> None:
    export = tmp_path / "security.json"
    export.write_text('[\n  {\n    "Event": {"System": {"EventRecordID": 1}}\n  }\n]\n')
    auto = AutoParser(OPTIONS, registry=private_registry())
    raws = list(auto.read_file(str(export), NOW))
    assert len(raws) == 1  # the private winlog reader yields one record
    assert auto.parse(raws[0])["winlog"] == {"read": True}
    other = tmp_path / "other.json"
    other.write_text('{"alpha": 1}\n{"alpha": 2}\n')
    assert [auto.parse(r)["event"]["dataset"] for r in auto.read_file(str(other), NOW)] == ["loose.json"] * 2


def test_real_windows_json_export_is_read_whole(tmp_path: Path) -> None:
    export = tmp_path / "events.json"
    export.write_text(
        '{\n  "Event": {\n    "System": {\n      "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-'
        'Auditing"}},\n      "EventID": 4624,\n      "EventRecordID": 7,\n      "Channel": "Security",\n'
        '      "Computer": "dc1",\n      "TimeCreated": {"#attributes": {"SystemTime": "2020-01-01T00:00:00Z"}}\n'
        '    },\n    "EventData": {"TargetUserName": "bob"}\n  }\n}\n'
    )
    auto = AutoParser(OPTIONS)
    events = [auto.parse(r) for r in auto.read_file(str(export), NOW)]
    assert len(events) == 1
    assert events[0]["event"]["code"] in ("4624", 4624)


# --- batches -----------------------------------------------------------------------------------

MIXED_LINES = [
    "Oct 10 2018 12:34:56 fw %ASA-6-305011: Built dynamic TCP translation from inside:10.0.0.1/1 to outside:1.2.3.4/2",
    "Feb 21 21:54:44 localhost sshd[3402]: Accepted password for bob from 10.0.2.2 port 22 ssh2",
    "not a log line at all",
    "Jan  8 03:37:09 h kernel: DROP: IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 TTL=1 "
    "ID=1 PROTO=TCP SPT=1 DPT=2",
    "Feb 21 21:54:44 localhost systemd[1]: Started Session 1.",
    "Oct 10 2018 12:34:57 fw %ASA-6-305011: Built dynamic TCP translation from inside:10.0.0.2/1 to outside:1.2.3.4/3",
    "CEF:0|V|P|1|100|name|5|src=10.0.0.1",
    "Feb 21 21:54:45 localhost sshd[3403]: Failed password for root from 10.0.2.9 port 22 ssh2",
]


def test_a_batch_gives_what_each_line_gives_in_input_order() -> None:
    auto = AutoParser(OPTIONS)
    raws = [RawEvent.from_bytes(line.encode(), "mixed.log", NOW, n) for n, line in enumerate(MIXED_LINES)]
    one_by_one: list[Event | str] = []
    for item in raws:
        try:
            one_by_one.append(auto.parse(item))
        except ParseError as exc:
            one_by_one.append(f"{exc.parser_id}: {exc.reason}")
    batch = [outcome if not isinstance(outcome, ParseError) else f"{outcome.parser_id}: {outcome.reason}"
             for outcome in auto.parse_batch(raws)]
    assert batch == one_by_one
    assert [o["event"]["dataset"] if isinstance(o, dict) else "dead" for o in batch] == [
        "cisco.asa", "system.auth", "dead", "iptables.log", "system.syslog", "cisco.asa", "cef.log", "system.auth"]


class Buggy(BaseParser):
    """Claims lines with BUG in them and raises a plain exception on them (a parser bug),
    in ``accepts`` too for lines that say so."""

    id = "test.buggy"
    route_signals: ClassVar[tuple[str, ...]] = ("BUG",)

    def accepts(self, raw: RawEvent) -> bool:
        if "accepts-boom" in raw.message:
            raise ValueError("accepts bug")
        return True

    def parse(self, raw: RawEvent) -> Event:
        if "boom" in raw.message:
            raise RuntimeError("boom")
        return self.new_event(raw)


def test_a_parser_bug_costs_only_its_own_line_in_a_batch(caplog: pytest.LogCaptureFixture) -> None:
    from ingest.pipeline import parse_many

    registry = Registry()
    registry.register("parser", Buggy.id, Buggy, origin="test")
    registry.register("parser", "system.syslog", "parsers.linux.system:SystemSyslogParser", origin="test")
    auto = AutoParser(OPTIONS, registry=registry)
    lines = ["BUG fine 1", "BUG boom", "Feb 21 21:54:44 localhost systemd[1]: Started.", "BUG fine 2",
             "BUG accepts-boom"]
    raws = [RawEvent.from_bytes(line.encode(), "b.log", NOW, n) for n, line in enumerate(lines)]
    outcomes = auto.parse_batch(raws)
    assert isinstance(outcomes[1], RuntimeError)
    assert isinstance(outcomes[4], ValueError)
    stats = Stats()
    events = parse_many(auto, raws, stats, BugLogger())
    assert [e["event"]["kind"] for e in events] == ["event", "pipeline_error", "event", "event", "pipeline_error"]
    assert events[1]["error"]["message"] == "parser bug: RuntimeError: boom"
    assert events[1]["event"]["original"] == "BUG boom"
    assert events[4]["error"]["message"] == "parser bug: ValueError: accepts bug"
    assert (stats.parsed, stats.failed, stats.parser_bugs) == (3, 2, 2)
    assert "parser auto raised on b.log@1" in caplog.text


def test_soc_parse_lines_equal_the_events_serialised_in_order() -> None:
    from ingest.pipeline import parse_lines, parse_stream
    from soc_core.event import dumps

    raws = [RawEvent.from_bytes(line.encode(), "mixed.log", NOW, n) for n, line in enumerate(MIXED_LINES * 3)]
    by_event, by_line = Stats(), Stats()
    events = [dumps(e) for e in parse_stream(AutoParser(OPTIONS), raws, by_event, BugLogger(), batch=5)]
    lines = list(parse_lines(AutoParser(OPTIONS), raws, by_line, BugLogger(), batch=5))
    assert lines == events
    assert (by_line.received, by_line.parsed, by_line.failed, by_line.per_parser) == (
        by_event.received, by_event.parsed, by_event.failed, by_event.per_parser)
    assert by_line.received == len(raws)


def test_soc_parse_lines_count_what_was_read_when_the_reader_stops_early() -> None:
    from ingest.pipeline import parse_lines

    raws = [RawEvent.from_bytes(line.encode(), "mixed.log", NOW, n) for n, line in enumerate(MIXED_LINES * 3)]
    stats = Stats()
    lines = parse_lines(AutoParser(OPTIONS), raws, stats, BugLogger(), batch=len(raws))
    taken = [next(lines) for _ in range(4)]
    lines.close()  # e.g. `soc parse | head`: the batch is parsed, four of its lines were written
    assert len(taken) == 4
    assert stats.received == stats.parsed + stats.failed
    assert stats.received == 4  # the failed line among them counted as it was written
    assert sum(ok for ok, _ in stats.per_parser.values()) == stats.parsed


class Unserialisable(BaseParser):
    """Claims lines with ODD in them and puts a value JSON cannot hold into the event."""

    id = "test.odd"
    route_signals: ClassVar[tuple[str, ...]] = ("ODD",)

    def parse(self, raw: RawEvent) -> Event:
        event = self.new_event(raw)
        event["odd"] = object()
        return event


def test_an_event_that_cannot_be_serialised_is_a_dead_letter_not_a_crash() -> None:
    from ingest.pipeline import parse_lines
    from soc_core.event import loads

    registry = Registry()
    registry.register("parser", Unserialisable.id, Unserialisable, origin="test")
    registry.register("parser", "system.syslog", "parsers.linux.system:SystemSyslogParser", origin="test")
    raws = [RawEvent.from_bytes(line.encode(), "o.log", NOW, n)
            for n, line in enumerate(["ODD one", "Feb 21 21:54:44 localhost systemd[1]: Started."])]
    stats = Stats()
    out = [loads(line) for line in parse_lines(AutoParser(OPTIONS, registry=registry), raws, stats, BugLogger())]
    assert out[0]["event"]["kind"] == "pipeline_error" and "TypeError" in out[0]["error"]["message"]
    assert out[1]["event"]["dataset"] == "system.syslog"
    assert (stats.parsed, stats.failed, stats.parser_bugs) == (1, 1, 1)
