"""Random, truncated and mutated input never escapes a firewall parser: ``parse`` returns
an event or raises ParseError, nothing else (hypothesis + every fixture line cut short)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.firewall import PARSERS
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent
from tests.conftest import CORPUS
from tests.parsers.firewall._support import CLOCK_AT, parser_for

DATASETS = sorted(PARSERS)
# One real line per format, so mutations start from something each parser accepts.
SEED_LINES = [
    '<189>date=2020-04-23 time=01:16:08 devname="fw" devid="FG100" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" srcip=10.0.0.1 srcport=1 dstip=10.0.0.2 '
    'dstport=53 proto=17 action="deny" policyid=0 sentbyte=0 rcvdbyte=0 eventtime=1592961368',
    "Nov 30 16:09:08 PA-220 1,2018/11/30 16:09:07,0128,TRAFFIC,end,2049,2018/11/30 16:09:07,"
    "192.168.15.207,184.51.253.152,192.168.1.63,184.51.253.152,rule,,,apple,vsys1,trust,untrust,"
    "e1/2,e1/1,fwd,2018/11/30 16:09:07,22751,1,55113,443,16418,443,0x400053,tcp,allow,7734,1758",
    '<134>1 2020-03-29T13:19:22Z gw CheckPoint 1930 - [action:"Accept"; ifdir:"outbound"; '
    'src:"192.168.1.100"; dst:"192.124.249.36"; proto:"6"; s_port:"61180"; service:"80"]',
    '<30>device="SFW" date=2020-05-18 time=14:38:37 timezone="CEST" device_id=1234 '
    'log_id=010101600001 log_type="Firewall" log_subtype="Allowed" src_ip=1.1.1.1 dst_ip=2.2.2.2 '
    "duration=11 src_port=1 dst_port=80 protocol=\"TCP\"",
    '<14>1 2019-11-14T09:37:51.184+01:00 SRX RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1 '
    'source-address="10.0.0.1" source-port="594" destination-address="10.128.0.1" '
    'destination-port="10400" protocol-id="6" elapsed-time="3"]',
    "Mar  1 10:00:00 rtr1 mgd[1234]: UI_COMMIT: User 'admin' requested 'commit' operation",
    'id=firewall sn=000SERIAL time="2007-01-03 14:48:06" fw=1.1.1.1 pri=6 c=262144 m=98 '
    'msg="Connection Opened" n=1 src=2.2.2.2:36701:WAN dst=1.1.1.1:50000:WAN proto=tcp/50000',
    "May 22 14:30:33 ids snort[1]: [1:2003:8] ET SCAN probe [Classification: Attempted "
    "Recon] [Priority: 2]: {TCP} 10.0.0.1:4000 -> 10.0.0.2:80",
    '{"timestamp":"2018-10-03T14:42:44.836744+0000","event_type":"alert","src_ip":"10.0.0.1",'
    '"src_port":1,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","alert":{"action":"allowed",'
    '"signature_id":1,"signature":"x","category":"y","severity":2},"flow":{"start":'
    '"2018-10-03T14:42:44.613469+0000","bytes_toserver":1}}',
    "Sep 28 10:38:09 pfSense filterlog: 53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,"
    "none,6,tcp,460,10.0.2.2,10.0.2.15,53742,22,420,PA,29633380:29633800,3617062173,65535,,",
]
SEED_DATASETS = ("fortinet.firewall", "panw.panos", "checkpoint.firewall", "sophos.xg",
                 "juniper.srx", "juniper.junos", "sonicwall.firewall", "snort.log",
                 "suricata.eve", "pfsense.log")
SEEDS = SEED_LINES


def _check(dataset: str, data: bytes) -> None:
    parser = parser_for(dataset)
    raw = RawEvent.from_bytes(data, "/tmp/fuzz.log", CLOCK_AT, 0)
    outcome: Event | ParseError
    try:
        outcome = parser.parse(raw)
    except ParseError as exc:
        outcome = exc
    if isinstance(outcome, ParseError):
        assert outcome.parser_id == dataset
        return
    event = outcome
    assert isinstance(event, dict)
    assert event["event"]["dataset"] == dataset
    assert event["@timestamp"].endswith("Z")


@pytest.mark.parametrize("dataset", DATASETS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_random_bytes(dataset: str, data: bytes) -> None:
    _check(dataset, data)


@pytest.mark.parametrize("dataset", DATASETS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 600), junk=st.text(max_size=30),
       at=st.integers(0, 600))
def test_mutated_real_lines(dataset: str, seed: str, cut: int, junk: str, at: int) -> None:
    mutated = seed[:at] + junk + seed[at:cut] if cut > at else seed[:cut] + junk
    _check(dataset, mutated.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(("dataset", "line"), list(zip(SEED_DATASETS, SEED_LINES, strict=True)))
def test_each_seed_parses_with_its_own_parser(dataset: str, line: str) -> None:
    event = parser_for(dataset).parse(RawEvent.from_bytes(line.encode(), "/tmp/s.log", CLOCK_AT, 0))
    assert event["event"]["dataset"] == dataset
    assert event["event"]["kind"] in ("event", "alert")


def test_every_dataset_has_a_seed() -> None:
    assert sorted(SEED_DATASETS) == DATASETS


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_prefix_of_the_seed_lines(dataset: str) -> None:
    for seed in SEEDS:
        for end in range(0, len(seed) + 1, 3):
            _check(dataset, seed[:end].encode())


def _fixture_lines() -> list[tuple[str, str]]:
    base = Path(CORPUS) / "beats_filebeat"
    out: list[tuple[str, str]] = []
    for dataset in DATASETS:
        module, _, fileset = dataset.partition(".")
        folder = base / module / fileset
        for log in sorted(folder.glob("*.log")) if folder.is_dir() else []:
            out += [(dataset, line) for line in log.read_text().splitlines()[:8] if line]
    return out


@pytest.mark.parametrize(("dataset", "line"), _fixture_lines())
def test_truncated_fixture_lines(dataset: str, line: str) -> None:
    for end in range(0, len(line), max(1, len(line) // 40)):
        _check(dataset, line[:end].encode())
