"""Every parser of the web catalogue: named by its dataset, routable, and loadable by the CLI."""

from __future__ import annotations

import importlib
from datetime import UTC

import pytest

from parsers import BUILTIN_PARSERS
from parsers.web import PARSERS
from soc_api.commands._common import make_parser
from soc_core.clock import FrozenClock
from soc_core.contracts import Parser
from tests.conftest import FROZEN_AT


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parser_is_named_by_its_dataset(name: str) -> None:
    module_name, class_name = PARSERS[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    assert cls.id == name
    assert BUILTIN_PARSERS[name] == PARSERS[name]
    parser = make_parser(name, UTC, FrozenClock(FROZEN_AT))
    assert isinstance(parser, Parser)
    assert parser.id == name
    for hint in ("syslog_programs", "route_signals", "json_keys"):
        values = getattr(cls, hint, ())
        assert isinstance(values, tuple) and all(isinstance(v, str) and v for v in values), hint
    assert cls.__doc__ and importlib.import_module(module_name).__doc__
