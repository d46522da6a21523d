"""The streaming Sigma engine: load rules with pySigma, route, compile, match, alert.

Public API::

    ruleset = load_rules(paths, placeholders=None)   # RuleSet: rules, correlations, filters, errors
    engine = SigmaEngine(ruleset)
    engine.match(event) -> list[SigmaRule]
    SigmaDetector(engine, clock=...)                  # soc_core.contracts.Detector

``rules.sigma.fieldmap`` is the declarative Sigma-name to event-field table.
"""

from __future__ import annotations

from rules.sigma import fieldmap
from rules.sigma.detector import SigmaDetector
from rules.sigma.engine import SigmaEngine
from rules.sigma.loader import RuleSet, iter_rule_files, load_placeholders, load_rules

__all__ = [
    "RuleSet",
    "SigmaDetector",
    "SigmaEngine",
    "fieldmap",
    "iter_rule_files",
    "load_placeholders",
    "load_rules",
]
