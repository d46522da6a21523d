"""How the parsers do on input they were not written against (figures printed; not a test).

Two measures, both through ``auto`` as a receiver would run it:

1. **Held-out Wazuh decoder tests.** The Wazuh ruleset's ``.ini`` files that no test of
   this project reads (so no parser was tuned on them), each mapped to the dataset its
   lines belong to: the share of ``pass`` lines that parse (not a dead letter), and the
   share routed to that dataset. Files the tests read are listed as "development".
2. **Unseen header layouts of the Filebeat fixtures.** Every syslog-framed line of the
   Filebeat fixtures of a dataset is rewritten in the other layouts senders use for the
   same event (rsyslog's ``RSYSLOG_SyslogProtocol23Format`` = RFC 5424, and
   ``RSYSLOG_FileFormat`` = an ISO 8601 stamp with microseconds and offset) and scored
   against the fixture's expected output with the shared scorer's comparison
   (``/work/shared/tools/parse_score.py``), leaving out the fields only the header
   carries (time, host, ``log.syslog``). The same score on the original lines is printed
   next to it: the difference is what the layout costs.

usage: python bench/generalization.py [--corpus DIR] [--scorer PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parsers.auto import AutoParser  # noqa: E402
from parsers.base import ParserOptions  # noqa: E402
from parsers.syslog import split_rfc3164  # noqa: E402
from soc_core.clock import FrozenClock  # noqa: E402
from soc_core.errors import ParseError  # noqa: E402
from soc_core.event import RawEvent  # noqa: E402

NOW = datetime(2026, 12, 7, tzinfo=UTC)
# The Filebeat harness runs at UTC-2 (see the corpus README).
FILEBEAT_TZ = timezone(timedelta(hours=-2))
# Wazuh files -> the dataset of their lines ("*" where the lines are generic syslog).
WAZUH = {
    "junos.ini": "juniper.srx", "firewalld.ini": "iptables.log", "doas.ini": "system.auth",
    "eset.ini": "eset_protect.event",
    "pix.ini": "cisco.asa", "syslog.ini": "*", "systemd.ini": "*", "named.ini": "*",
    "dovecot.ini": "*", "dropbear.ini": "*", "opensmtpd.ini": "*", "unbound.ini": "*",
    # read by the tests (development set): for comparison
    "cisco_ios.ini": "cisco.ios", "cisco_asa.ini": "cisco.asa", "sshd.ini": "system.auth",
    "pam.ini": "system.auth", "su.ini": "system.auth", "iptables.ini": "iptables.log",
    "fortigate.ini": "fortinet.firewall", "paloalto.ini": "panw.panos", "pfsense.ini": "pfsense.log",
}
FIXTURES = {"system.auth": "system/auth", "system.syslog": "system/syslog", "iptables.log": "iptables/log",
            "haproxy.log": "haproxy/log", "snort.log": "snort/log", "cisco.asa": "cisco/asa",
            "cisco.ftd": "cisco/ftd"}
HEADER_ONLY = ("@timestamp", "host.", "log.syslog", "related.hosts", "observer.hostname", "observer.name",
               "event.start", "event.end", "process.pid")


def used_by_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        text = path.read_text(errors="replace")
        if "wazuh_ruleset_tests" not in text:
            continue
        names.update(re.findall(r"([a-z0-9_\-]+)\.ini", text))
        names.update(re.findall(r'"([a-z0-9_]+)": "', text))  # {"sshd": "system.auth"} read as f"{ini}.ini"
    return {f"{n}.ini" for n in names}


def wazuh(corpus: Path, auto: AutoParser) -> None:
    used = used_by_tests()
    print("1. Wazuh decoder tests through auto (pass lines): parsed, routed to the dataset")
    rows: dict[str, list[float]] = {"held-out": [], "development": []}
    for name, dataset in WAZUH.items():
        path = corpus / "wazuh_ruleset_tests" / name
        if not path.exists():
            continue
        lines = re.findall(r"^log \d+ pass = (.*)$", path.read_text(errors="replace"), flags=re.M)
        if not lines:
            continue  # (the file's cases are written another way: nothing to measure)
        parsed = routed = 0
        for line in lines:
            try:
                event = auto.parse(RawEvent.from_bytes(line.encode(), name, NOW, 0))
            except ParseError:
                continue
            parsed += 1
            if dataset == "*" or event["event"]["dataset"] == dataset:
                routed += 1
        split = "development" if name in used else "held-out"
        share = routed / max(len(lines), 1)
        rows[split].append(share)
        print(f"  {split:12s} {name:18s} {dataset:20s} {len(lines):4d} lines  parsed {parsed / max(len(lines), 1):6.1%}"
              f"  routed {share:6.1%}")
    for split, shares in rows.items():
        if shares:
            print(f"  {split}: mean routed {sum(shares) / len(shares):.1%}, lowest {min(shares):.1%}"
                  f" over {len(shares)} files")


def _scorer(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("parse_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the scorer at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _variants(line: str) -> Iterator[tuple[str, str]]:
    """``(layout, line)`` for each other layout of an RFC 3164 line with a program."""
    header = split_rfc3164(line, FILEBEAT_TZ, NOW, require_program=True)
    if header is None or header.timestamp is None or not header.program or not header.program.isidentifier():
        return
    pri = header.priority if header.priority is not None else 13
    tag = header.program + (f"[{header.pid}]" if header.pid else "")
    stamp = header.timestamp.isoformat(timespec="microseconds")
    yield "rfc5424", (f"<{pri}>1 {stamp} {header.hostname or '-'} {header.program} {header.pid or '-'} - - "
                      f"{header.message}")
    yield "iso8601", f"{stamp} {header.hostname or '-'} {tag}: {header.message}"


def twins(corpus: Path, scorer_path: str) -> None:
    scorer = _scorer(scorer_path)
    auto = AutoParser(ParserOptions(tz=FILEBEAT_TZ, clock=FrozenClock(NOW)))
    print("\n2. Filebeat fixture lines in other header layouts, scored against the expected output "
          "(header-only fields left out)")
    print(f"  {'dataset':16s} {'lines':>6s} {'as given':>9s} {'rfc5424':>9s} {'iso8601':>9s}")
    for dataset, folder in FIXTURES.items():
        hits: dict[str, list[int]] = {"as given": [0, 0], "rfc5424": [0, 0], "iso8601": [0, 0]}
        count = 0
        for log in sorted((corpus / "beats_filebeat" / folder).glob("*.log")):
            expected_file = Path(f"{log}-expected.json")
            if not expected_file.exists():
                continue
            expected = json.loads(expected_file.read_text())
            by_offset = {e.get("log.offset"): e for e in expected if isinstance(e, dict)}
            offset = 0
            for raw_line in log.read_bytes().splitlines(keepends=True):
                line = raw_line.rstrip(b"\r\n").decode("utf-8", "replace")
                start, offset = offset, offset + len(raw_line)
                want = by_offset.get(start)
                if want is None or not line.strip():
                    continue
                layouts = [("as given", line), *_variants(line)]
                if len(layouts) == 1:
                    continue
                count += 1
                keys = [k for k in scorer.scored_keys(want) if not k.startswith(HEADER_ONLY)]
                for layout, text in layouts:
                    try:
                        got = scorer.flatten(auto.parse(RawEvent.from_bytes(text.encode(), str(log), NOW, start)))
                    except ParseError:
                        got = {}
                    hits[layout][1] += len(keys)
                    hits[layout][0] += sum(1 for k in keys if scorer.same(want[k], got.get(k), k))
        if count:
            shares = {k: h / max(t, 1) for k, (h, t) in hits.items()}
            print(f"  {dataset:16s} {count:6d} {shares['as given']:9.1%} {shares['rfc5424']:9.1%}"
                  f" {shares['iso8601']:9.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("SOC_CORPUS", str(ROOT.parent / "shared" / "corpus")))
    ap.add_argument("--scorer", default="/work/shared/tools/parse_score.py")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    wazuh(corpus, AutoParser(ParserOptions(tz=UTC, clock=FrozenClock(NOW))))
    if Path(args.scorer).exists():
        twins(corpus, args.scorer)
    else:
        print(f"\n2. skipped: no scorer at {args.scorer}")


if __name__ == "__main__":
    main()
