"""Documented variants of each format, generated from the grammar the vendor documents.

Each strategy builds valid lines of one format from its documented parts (RFC 3164 and
RFC 5424 headers; Cisco IOS ``service timestamps``/``service sequence-numbers``/
``logging origin-id`` and NX-OS stamps; Meraki records with, without and behind a
relay's header; Junos standard and structured-data formats; netfilter LOG lines with
the prefixes firewall distributions write; HAProxy's HTTP and TCP formats; nginx's
``unix:`` clients). Every line goes through ``auto``, so routing is checked with the
parsing: no valid line may become a dead letter, it must reach the variant's parser,
and the fields the variant carries must come out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.auto import AutoParser
from parsers.base import ParserOptions
from parsers.syslog import MONTHS
from soc_core.clock import FrozenClock
from soc_core.event import Event, RawEvent

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
AUTO = AutoParser(ParserOptions(tz=UTC, clock=FrozenClock(NOW)))
MONTH_NAMES = [name.capitalize() for name in MONTHS]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Document parts -----------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9\-]{0,14}[a-z0-9]", fullmatch=True)
ipv4 = st.tuples(*[st.integers(1, 254)] * 4).map(lambda t: ".".join(map(str, t)))
ports = st.integers(1, 65535)
words = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True)
texts = st.lists(words, min_size=1, max_size=6).map(" ".join)
moments = st.datetimes(datetime(2019, 1, 1), datetime(2026, 11, 1), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


def parse(line: str, source: str = "variants.log") -> Event:
    """``auto``'s event for ``line``; a dead letter fails the test with its reason."""
    event = AUTO.parse(RawEvent.from_bytes(line.encode(), source, NOW, 0))
    assert event["event"]["kind"] != "pipeline_error", event
    return event


def bsd_stamp(moment: datetime, year: bool, frac: bool) -> str:
    text = f"{MONTH_NAMES[moment.month - 1]} {moment.day:2d} "
    if year:
        text += f"{moment.year} "
    text += moment.strftime("%H:%M:%S")
    if frac:
        text += f".{moment.microsecond // 1000:03d}"
    return text


def iso_stamp(moment: datetime, offset_minutes: int | None) -> str:
    if offset_minutes is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    zone = timezone(timedelta(minutes=offset_minutes))
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def at(event: Event) -> datetime:
    return datetime.fromisoformat(event["@timestamp"].replace("Z", "+00:00"))


# Syslog headers ------------------------------------------------------------------------------

@st.composite
def rfc3164_lines(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """``[<PRI>]STAMP [HOST ]PROGRAM[[PID]]: MSG`` with BSD (year, msec optional) or ISO stamps."""
    moment = draw(moments)
    kind = draw(st.sampled_from(["bsd", "bsd_year", "bsd_msec", "iso", "iso_offset"]))
    if kind.startswith("bsd"):
        stamp = bsd_stamp(moment, kind == "bsd_year", kind == "bsd_msec")
    else:
        stamp = iso_stamp(moment, draw(st.integers(-12 * 60, 14 * 60)) if kind == "iso_offset" else None)
    pri = draw(st.none() | st.integers(0, 191))
    host = draw(st.none() | names | ipv4)
    program = draw(names.filter(lambda n: n not in AUTO_PROGRAMS))
    pid = draw(st.none() | st.integers(1, 99999))
    message = draw(texts)
    line = (f"<{pri}>" if pri is not None else "") + stamp + " " + (f"{host} " if host else "")
    line += program + (f"[{pid}]" if pid else "") + ": " + message
    exact = {"bsd_year": moment.replace(microsecond=0), "iso": moment, "iso_offset": moment}.get(kind)
    return line, {"moment": exact, "host": host, "program": program, "pid": pid,
                  "message": message, "pri": pri}


AUTO_PROGRAMS = frozenset(p for c in AUTO._candidates.values() for p in c.programs)


@FAST
@given(rfc3164_lines())
def test_rfc3164_header_variants(case: tuple[str, dict[str, object]]) -> None:
    line, parts = case
    event = parse(line)
    assert event["event"]["dataset"] == "system.syslog"
    assert event["process"]["name"] == parts["program"]
    assert event["message"] == parts["message"]
    if parts["pid"]:
        assert event["process"]["pid"] == parts["pid"]
    if parts["host"]:
        assert event["host"]["hostname"] == parts["host"]
    if parts["pri"] is not None:
        assert event["log"]["syslog"]["priority"] == parts["pri"]
    moment = parts["moment"]
    if isinstance(moment, datetime):
        assert at(event) == moment


@st.composite
def rfc5424_lines(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`` (RFC 5424 section 6)."""
    moment = draw(moments)
    pri = draw(st.integers(0, 191))
    stamp = iso_stamp(moment, draw(st.none() | st.integers(-12 * 60, 14 * 60)))
    host = draw(names | ipv4)
    app = draw(names.filter(lambda n: n not in AUTO_PROGRAMS))
    procid = draw(st.sampled_from(["-", "1234", "worker.1"]))
    msgid = draw(st.sampled_from(["-", "ID47", "TCPIN"]))
    sd = draw(st.sampled_from(["-", '[timeQuality tzKnown="1" isSynced="1"]',
                               '[exampleSDID@32473 iut="3" eventSource="Application"][meta sequenceId="1"]']))
    message = draw(texts)
    return f"<{pri}>1 {stamp} {host} {app} {procid} {msgid} {sd} {message}", {
        "moment": moment, "host": host, "app": app, "message": message, "sd": sd, "msgid": msgid}


@FAST
@given(rfc5424_lines())
def test_rfc5424_header_variants(case: tuple[str, dict[str, object]]) -> None:
    line, parts = case
    event = parse(line)
    assert event["event"]["dataset"] == "system.syslog"
    assert at(event) == parts["moment"]
    assert event["process"]["name"] == parts["app"]
    assert event["host"]["hostname"] == parts["host"]
    assert event["message"] == parts["message"]
    syslog = event["log"]["syslog"]
    assert syslog["version"] == "1"
    assert (parts["msgid"] == "-") == ("msgid" not in syslog)
    assert (parts["sd"] == "-") == ("structured_data" not in syslog)


# sshd in either header: the program decides, not the header (issue #20, item 7) ------------

sshd_messages = st.tuples(st.sampled_from(["Failed", "Accepted"]), st.sampled_from(["password", "publickey"]),
                          names, ipv4, ports)


@FAST
@given(sshd_messages, moments, names, st.booleans())
def test_sshd_parses_as_system_auth_in_both_header_formats(
    parts: tuple[str, str, str, str, int], moment: datetime, host: str, rfc5424: bool
) -> None:
    verdict, method, user, ip, port = parts
    message = f"{verdict} {method} for {user} from {ip} port {port} ssh2"
    if rfc5424:
        line = f"<38>1 {iso_stamp(moment, None)} {host} sshd 4242 - - {message}"
    else:
        line = f"<38>{bsd_stamp(moment, False, False)} {host} sshd[4242]: {message}"
    event = parse(line)
    assert event["event"]["dataset"] == "system.auth"
    assert event["source"]["ip"] == ip
    assert event["user"]["name"] == user
    assert event["event"]["outcome"] == ("success" if verdict == "Accepted" else "failure")
    assert event["process"] == {"name": "sshd", "pid": 4242}


def test_logger_rfc5424_line_from_the_issue() -> None:
    """The line of issue #20 item 7, as ``logger`` writes it by default."""
    event = parse("<38>1 2026-12-01T10:00:00.123456+07:00 web01 sshd 1234 - [timeQuality tzKnown=\"1\" "
                  "isSynced=\"1\" syncAccuracy=\"1\"] Failed password for invalid user admin from 10.0.0.5 "
                  "port 22 ssh2")
    assert event["event"]["dataset"] == "system.auth"
    assert (event["source"]["ip"], event["event"]["outcome"]) == ("10.0.0.5", "failure")
    assert event["@timestamp"] == "2026-12-01T03:00:00.123456Z"
    assert event["log"]["syslog"]["structured_data"]["timeQuality"]["tzKnown"] == "1"


# Cisco IOS and NX-OS --------------------------------------------------------------------------

facilities = st.sampled_from(["SYS", "LINK", "SEC_LOGIN", "DUAL", "OSPF", "BGP", "CDP", "SNMP", "DOT1X", "PARSER"])
mnemonics = st.from_regex(r"[A-Z][A-Z0-9_]{2,14}", fullmatch=True)
zones = st.sampled_from(["UTC", "GMT", "CET", "EST", "PST"])


@st.composite
def ios_lines(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """``[<PRI>][SEQ: ][ORIGIN: ]STAMP: %FAC-SEV-MNEMONIC: text`` (``service timestamps log
    uptime|datetime [msec] [year] [show-timezone]``, ``service sequence-numbers``,
    ``logging origin-id hostname``)."""
    moment = draw(moments)
    uptime = draw(st.booleans())
    msec = False
    if uptime:
        stamp = draw(st.sampled_from(["00:00:46", "1w2d", "2d13h", "12:01:33"]))
        zone = None
        year = False
    else:
        year, msec = draw(st.booleans()), draw(st.booleans())
        zone = draw(st.none() | zones)
        stamp = draw(st.sampled_from(["", "*", "."])) + bsd_stamp(moment, year, msec)
        if zone:
            stamp += f" {zone}"
    seq = draw(st.none() | st.integers(1, 999999))
    origin = draw(st.none() | names)
    line = (f"<{draw(st.integers(0, 191))}>" if draw(st.booleans()) else "")
    line += (f"{seq:06d}: " if seq is not None else "") + (f"{origin}: " if origin else "") + f"{stamp}: "
    facility, severity, mnemonic = draw(facilities), draw(st.integers(0, 7)), draw(mnemonics)
    line += f"%{facility}-{severity}-{mnemonic}: {draw(texts)}"
    exact = (moment if msec else moment.replace(microsecond=0)) if year and zone in ("UTC", "GMT") else None
    return line, {"facility": facility, "severity": severity, "mnemonic": mnemonic, "seq": seq, "moment": exact,
                  "origin": origin if not uptime else None}


@FAST
@given(ios_lines())
def test_cisco_ios_service_timestamps_variants(case: tuple[str, dict[str, object]]) -> None:
    line, parts = case
    event = parse(line)
    assert event["event"]["dataset"] == "cisco.ios", line
    assert event["cisco"]["ios"]["facility"] == parts["facility"]
    assert (event["event"]["code"], event["event"]["severity"]) == (parts["mnemonic"], parts["severity"])
    if parts["seq"] is not None:
        assert event["cisco"]["ios"]["sequence"] == parts["seq"]
    if isinstance(parts["moment"], datetime):
        assert at(event) == parts["moment"]
    if parts["origin"]:
        assert event["host"]["hostname"] == parts["origin"]


@FAST
@given(moments, st.booleans(), st.none() | names, facilities, st.integers(0, 7), mnemonics, texts)
def test_cisco_nexus_stamp_variants(moment: datetime, msec: bool, host: str | None, facility: str,
                                    severity: int, mnemonic: str, text: str) -> None:
    stamp = f"{moment.year} {MONTH_NAMES[moment.month - 1]} {moment.day:2d} {moment:%H:%M:%S}"
    if msec:
        stamp += f".{moment.microsecond // 1000:03d}"
    line = f"{stamp} {host + ' ' if host else ''}%{facility}-{severity}-{mnemonic}: {text}"
    event = parse(line)
    assert event["event"]["dataset"] == "cisco.nexus", line
    assert event["event"]["code"] == mnemonic
    expected = moment if msec else moment.replace(microsecond=0)
    assert at(event) == expected


# Meraki -------------------------------------------------------------------------------------

@st.composite
def meraki_lines(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """``[<PRI>1 ]EPOCH DEVICE TYPE k=v...`` as the dashboard sends it, with or without
    the syslog header, or behind a relay's BSD header (Meraki "Syslog Event Types")."""
    epoch = draw(st.integers(1_400_000_000, 1_790_000_000))
    nanos = draw(st.integers(0, 999_999_999))
    device, src, dst = draw(names), draw(ipv4), draw(ipv4)
    kind = draw(st.sampled_from(["flows", "firewall", "vpn_firewall", "cellular_firewall", "ip_flow_start",
                                 "ip_flow_end"]))
    record = (f"{epoch}.{nanos:09d} {device} {kind} src={src} dst={dst} protocol=tcp "
              f"sport={draw(ports)} dport={draw(ports)}")
    if kind not in ("ip_flow_start", "ip_flow_end"):
        record += f" pattern: {draw(st.sampled_from(['allow all', 'deny all', '1 all']))}"
    header = draw(st.sampled_from(["none", "rfc5424", "relay"]))
    if header == "rfc5424":
        record = f"<134>1 {record}"
    elif header == "relay":
        record = f"<134>{bsd_stamp(draw(moments), False, False)} {draw(ipv4)} 1 {record}"
    return record, {"epoch": epoch, "device": device, "src": src, "kind": kind}


@FAST
@given(meraki_lines())
def test_cisco_meraki_with_and_without_header(case: tuple[str, dict[str, object]]) -> None:
    line, parts = case
    event = parse(line)
    assert event["event"]["dataset"] == "cisco.meraki", line
    assert int(at(event).timestamp()) == parts["epoch"]
    assert event["observer"]["hostname"] == parts["device"]
    assert event["source"]["ip"] == parts["src"]


# Juniper Junos ------------------------------------------------------------------------------

junos_tags = st.sampled_from(["UI_COMMIT", "UI_LOGIN_EVENT", "SNMP_TRAP_LINK_DOWN", "RPD_BGP_NEIGHBOR_STATE_CHANGED",
                              "SSHD_LOGIN_FAILED", "CHASSISD_SNMP_TRAP7"])
junos_programs = st.sampled_from(["mgd", "rpd", "chassisd", "sshd", "snmpd"])


@FAST
@given(moments, names, junos_programs, st.integers(1, 99999), junos_tags, names, st.booleans())
def test_junos_standard_and_structured_formats(moment: datetime, host: str, program: str, pid: int, tag: str,
                                               user: str, structured: bool) -> None:
    text = f"User '{user}' event text"
    if structured:
        line = (f"<165>1 {iso_stamp(moment, None)} {host} {program} {pid} {tag} "
                f'[junos@2636.1.1.1.2.18 username="{user}"] {text}')
    else:
        line = f"<165>{bsd_stamp(moment, False, False)} {host} {program}[{pid}]: {tag}: {text}"
    event = parse(line)
    assert event["event"]["dataset"] == "juniper.junos", line
    assert event["event"]["code"] == tag
    assert event["user"]["name"] == user
    if structured:
        assert at(event) == moment


# iptables -----------------------------------------------------------------------------------

prefixes = st.sampled_from(["", "[UFW BLOCK] ", "[UFW ALLOW] ", "Shorewall:net-fw:DROP:", "FINAL_REJECT: ",
                            "filter_IN_public_REJECT: ", "[wan-lan-default-D]", "IPTABLES-DROP: "])


@FAST
@given(moments, names, prefixes, st.booleans(), ipv4, ipv4, st.sampled_from(["TCP", "UDP"]), ports, ports,
       st.sampled_from(["bsd", "iso"]))
def test_iptables_prefix_variants(moment: datetime, host: str, prefix: str, uptime: bool, src: str, dst: str,
                                  proto: str, sport: int, dport: int, stamp: str) -> None:
    head = bsd_stamp(moment, False, False) if stamp == "bsd" else iso_stamp(moment, None)
    kernel = "[ 1234.567890] " if uptime else ""
    line = (f"{head} {host} kernel: {kernel}{prefix}IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 "
            f"SRC={src} DST={dst} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4242 DF PROTO={proto} SPT={sport} "
            f"DPT={dport} LEN=40")
    event = parse(line)
    assert event["event"]["dataset"] == "iptables.log", line
    assert (event["source"]["ip"], event["destination"]["ip"]) == (src, dst)
    assert (event["source"]["port"], event["destination"]["port"]) == (sport, dport)
    if stamp == "iso":
        assert at(event) == moment
    if "BLOCK" in prefix or "DROP" in prefix or "REJECT" in prefix:
        assert event["event"]["type"] == ["denied", "connection"] or "denied" in event["event"]["type"]


# Web access logs -----------------------------------------------------------------------------

@FAST
@given(st.sampled_from(["unix:", "unix:/run/nginx.sock"]), st.sampled_from(["GET", "POST", "HEAD"]),
       st.integers(200, 599), st.integers(0, 10**6))
def test_nginx_unix_socket_clients_route_to_nginx(client: str, method: str, status: int, size: int) -> None:
    event = parse(f'{client} - - [10/Oct/2023:13:55:36 +0000] "{method} /x HTTP/1.1" {status} {size} "-" "curl/8.0"')
    assert event["event"]["dataset"] == "nginx.access"
    assert event["http"]["response"]["status_code"] == status


def test_identical_combined_lines_follow_the_configured_route() -> None:
    line = '10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8.0"'
    guessed = parse(line, "/var/log/web/access.log")
    assert guessed["event"]["dataset"] == "apache.access" and "auto_guessed_parser" in guessed["tags"]
    assert "tags" not in parse(line, "/var/log/nginx/access.log")
    routed = AutoParser(ParserOptions(tz=UTC, clock=FrozenClock(NOW), routes=(("/var/log/web/*", "nginx.access"),)))
    event = routed.parse(RawEvent.from_bytes(line.encode(), "/var/log/web/access.log", NOW, 0))
    assert event["event"]["dataset"] == "nginx.access" and "tags" not in event
    received = RawEvent(line.encode(), "syslog+udp://10.0.0.9", NOW, receiver="syslog+udp://0.0.0.0:5515")
    by_port = AutoParser(ParserOptions(tz=UTC, clock=FrozenClock(NOW), routes=(("*:5515", "nginx.access"),)))
    assert by_port.parse(received)["event"]["dataset"] == "nginx.access"


# HAProxy ------------------------------------------------------------------------------------

@FAST
@given(moments, ipv4, ports, names, names, st.integers(100, 599), st.integers(0, 10**6), st.booleans(),
       st.booleans())
def test_haproxy_http_and_tcp_formats(moment: datetime, client: str, port: int, frontend: str, backend: str,
                                      status: int, size: int, http: bool, rfc5424: bool) -> None:
    accept = moment.strftime("%d/%b/%Y:%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if http:
        body = (f"{client}:{port} [{accept}] {frontend} {backend}/srv1 10/0/30/69/109 {status} {size} - - ---- "
                f'1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"')
    else:
        body = f"{client}:{port} [{accept}] {frontend} {backend}/srv1 0/0/5007 {size} -- 0/0/0/0/3 0/0"
    if rfc5424:
        line = f"<134>1 {iso_stamp(moment, None)} lb1 haproxy 1234 - - {body}"
    else:
        line = f"<134>{bsd_stamp(moment, False, False)} lb1 haproxy[1234]: {body}"
    event = parse(line)
    assert event["event"]["dataset"] == "haproxy.log", line
    assert (event["source"]["ip"], event["source"]["port"]) == (client, port)
    assert event["haproxy"]["frontend_name"] == frontend
    if http:
        assert event["http"]["response"]["status_code"] == status


def test_a_failed_specific_parse_keeps_the_syslog_header() -> None:
    """A line its routed parser accepts but cannot read keeps its header and says why."""
    event = parse("<13>Jan 10 10:00:00 ids1 myids: [Classification: Attempted Recon] text without a Snort layout")
    assert event["event"]["dataset"] == "system.syslog"
    assert (event["host"]["hostname"], event["process"]["name"]) == ("ids1", "myids")
    assert event["error"]["type"] == "partial_parse" and event["error"]["message"].startswith("snort.log: ")
    assert "partial_parse" in event["tags"]


def test_pix_messages_are_read_as_asa() -> None:
    """PIX, the ASA's predecessor, writes the same message ids under "%PIX-"."""
    event = parse("%PIX-3-106010: Deny inbound tcp src outside:213.98.79.233/2620 dst dmz:213.98.254.145/135")
    assert event["event"]["dataset"] == "cisco.asa"
    assert (event["source"]["ip"], event["destination"]["port"]) == ("213.98.79.233", 135)


@FAST
@given(moments, ipv4, names, ipv4, ipv4)
def test_srx_structured_records_behind_a_relay_header(moment: datetime, relay: str, host: str, src: str,
                                                      dst: str) -> None:
    line = (f"{bsd_stamp(moment, False, False)} {relay} junos-flow: {iso_stamp(moment, None)} {host} RT_FLOW - "
            f'RT_FLOW_SESSION_DENY [junos@2636.1.1.1.2.39 source-address="{src}" source-port="1080" '
            f'destination-address="{dst}" destination-port="8010" protocol-id="17" policy-name="deny-all"]')
    event = parse(line)
    assert event["event"]["dataset"] == "juniper.srx", line
    assert (event["source"]["ip"], event["destination"]["ip"]) == (src, dst)
    assert at(event) == moment
