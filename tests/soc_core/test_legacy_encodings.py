"""Issue #20 item 3: legacy Vietnamese encodings decoded by a source-configured encoding,
the exact bytes kept. Known words in each encoding; VISCII and TCVN3 also checked against
glibc's iconv (its VISCII and TCVN5712-1 converters), when the machine has it."""

from __future__ import annotations

import base64
import shutil
import subprocess
import unicodedata
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from soc_api.cli import cli
from soc_core.legacy_encodings import canonical, decode

TEXT = "Người dùng đăng nhập thất bại tại Đà Nẵng; Tiếng Việt"
# Known spellings: VNI ("Vieät Nam" is how VNI text looks in a Latin-1 font) and TCVN3
# ("ViÖt Nam", "§µ N½ng" in a Windows-1252 font), the bytes written out.
VNI = "Ngöôøi duøng ñaêng nhaäp thaát baïi taïi Ñaø Naüng; Tieáng Vieät".encode("latin-1")
TCVN3 = "Ng\xad\xeai d\xefng \xae\xa8ng nh\xcbp th\xcat b\xb9i t\xb9i \xa7\xb5 N\xbdng; Ti\xd5ng Vi\xd6t".encode(
    "latin-1")


def test_known_words() -> None:
    assert decode(VNI, "vni") == TEXT
    assert decode(TCVN3, "tcvn3") == TEXT
    assert decode(TCVN3, "abc") == TEXT
    assert decode("Vi\xd6t Nam".encode("latin-1"), "tcvn3") == "Việt Nam"
    assert decode("Vieät Nam".encode("latin-1"), "VNI-Windows") == "Việt Nam"
    assert decode(bytes([0x56, 0x69, 0xAE, 0x74]), "viscii") == "Việt"  # RFC 1456: 0xAE is ệ
    assert canonical("CP1258") == "cp1258"
    with pytest.raises(ValueError, match="unknown encoding"):
        canonical("tcvn4")


@pytest.mark.skipif(shutil.which("iconv") is None, reason="glibc iconv not installed")
@pytest.mark.parametrize(("ours", "glibc"), [("viscii", "VISCII"), ("tcvn3", "TCVN5712-1")])
def test_the_tables_agree_with_glibc(ours: str, glibc: str) -> None:
    """Every Vietnamese letter, small and capital, round-trips through glibc's encoder and
    our decoder (TCVN3: small letters and the capitals VN3 has; VN1 puts the others in C0)."""
    letters = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    tones = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]
    text = "".join(unicodedata.normalize("NFC", c + t) for c in letters for t in tones if c in "aăâeêioôơuưy" or not t)
    if ours == "viscii":
        text += text.upper()
    else:
        text += "ĂÂĐÊÔƠƯ"
    encoded = subprocess.run(["iconv", "-f", "utf-8", "-t", glibc], input=text.encode(), capture_output=True,
                             check=True).stdout
    assert decode(encoded, ours) == text


def test_ingest_with_an_encoding_keeps_the_bytes_and_finds_the_words(tmp_path: Path) -> None:
    log = tmp_path / "legacy.log"
    line = b"Dec  7 10:00:00 winhost app[7]: " + TCVN3
    log.write_bytes(line + b"\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", "--store", db, "--encoding", "tcvn3", str(log)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for query in ("đăng", "dang", '"Đà Nẵng"', '"da nang"'):
        count = runner.invoke(cli, ["search", "--store", db, "--count", query]).output.strip()
        assert count == "1", query
    event = orjson.loads(runner.invoke(cli, ["search", "--store", db, "*"]).output)
    assert event["event"]["original"].endswith(TEXT)
    assert base64.b64decode(event["event"]["original_base64"]) == line
    parsed = orjson.loads(runner.invoke(cli, ["parse", "--encoding", "vni", str(log)]).output)
    assert "original_base64" in parsed["event"]  # any configured legacy encoding keeps the bytes
    bad = runner.invoke(cli, ["parse", "--encoding", "tcvn4", str(log)])
    assert bad.exit_code == 2 and "unknown encoding" in bad.output
