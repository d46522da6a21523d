"""YARA rules of the project (the ``*.yar`` files in this folder) and the code that runs them.

``scanner`` compiles rule files (errors per file) and scans files or bytes into ECS alerts;
``detector`` scans file content that arrives with events (``yara_content``).
"""

from __future__ import annotations

from rules.yara.scanner import (
    BUILTIN_DIR,
    EXTERNALS,
    ScanTarget,
    YaraRuleset,
    YaraScanner,
    compile_rules,
    rule_files,
)

__all__ = ["BUILTIN_DIR", "EXTERNALS", "ScanTarget", "YaraRuleset", "YaraScanner", "compile_rules", "rule_files"]
