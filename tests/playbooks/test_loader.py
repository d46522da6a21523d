"""Playbooks as data: the published schema, the built-in playbooks, errors with file and line."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from playbooks.loader import BUILTIN_DIR, check_paths, load_playbooks, load_text, schema
from playbooks.model import STEP_TYPES
from soc_api.cli import cli
from soc_core.errors import PlaybookError

GOOD = """\
id: test-play
name: Test
trigger:
  tags: [attack.t1110]
steps:
  - id: block
    type: block_ip
    duration_secs: 60
"""


def test_schema_is_valid_draft_2020_12_and_names_every_step_type() -> None:
    published = schema()
    jsonschema.Draft202012Validator.check_schema(published)
    assert set(published["$defs"]["step"]["properties"]["type"]["enum"]) == set(STEP_TYPES)


def test_every_builtin_playbook_loads_one_per_attack_kind() -> None:
    playbooks = load_playbooks()
    ids = {p.id for p in playbooks}
    assert ids == {"brute-force-login", "camera-brute-force", "web-attack", "malware-detected", "port-scan",
                   "bad-indicator-traffic", "large-outbound-transfer"}
    for playbook in playbooks:
        assert playbook.name_vi, f"{playbook.id} has no Vietnamese name"
        assert Path(playbook.source).parent == BUILTIN_DIR
        assert all(step.line > 0 for step in playbook.steps)


@pytest.mark.parametrize(("text", "line", "message"), [
    (GOOD.replace("duration_secs: 60", "duration_secs: -5"), 8, "steps.0.duration_secs"),
    (GOOD.replace("type: block_ip", "type: launch_missiles"), 7, "steps.0.type"),
    (GOOD.replace("  tags: [attack.t1110]", "  tags: []"), 4, "trigger.tags"),
    (GOOD + "  - id: block\n    type: notify\n    responder: email\n", 9, "duplicate step id"),
    (GOOD + "  - id: undo\n    type: revert\n    step: nothing\n", 9, "revert needs an earlier"),
    (GOOD.replace("name: Test", "name: [unclosed"), 3, "not valid YAML"),
    (GOOD.replace("    duration_secs: 60", "    duration_secs: 60\n    colour: red"), 6, "colour"),
])
def test_errors_carry_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(PlaybookError) as err:
        load_text(text, "bad.yml")
    assert err.value.path == "bad.yml"
    assert err.value.line == line, str(err.value)
    assert message in str(err.value)
    assert str(err.value).startswith(f"bad.yml:{line}: ")


def test_check_collects_every_error_and_duplicate_ids(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(GOOD)  # same id
    (tmp_path / "c.yml").write_text(GOOD.replace("duration_secs: 60", "duration_secs: 0"))
    loaded, errors = check_paths([tmp_path])
    assert [p.source for p in loaded] == [str(tmp_path / "a.yml")]
    assert [(Path(e.path or "").name, e.line) for e in errors] == [("b.yml", 1), ("c.yml", 8)]


def test_cli_check(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["playbooks", "check", str(BUILTIN_DIR)])
    assert ok.exit_code == 0, ok.output
    assert "7 playbook(s) valid, 0 error(s)" in ok.output
    (tmp_path / "bad.yml").write_text(GOOD.replace("duration_secs: 60", "duration_secs: nope"))
    bad = runner.invoke(cli, ["playbooks", "check", str(tmp_path / "bad.yml")])
    assert bad.exit_code == 1
    assert f"{tmp_path / 'bad.yml'}:8: steps.0.duration_secs" in bad.output
