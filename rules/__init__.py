"""Detection rules: the streaming Sigma engine (``rules.sigma``), alert documents
(``rules.alerts``), the ATT&CK lookup (``rules.attack``), YARA (``rules.yara``), offline
rule validation (``rules.check``) and retro-hunts (``rules.hunt``).

``BUILTIN_DETECTORS`` declares the built-in detectors for ``soc_core.registry``.
"""

from __future__ import annotations

BUILTIN_DETECTORS: dict[str, str] = {
    "sigma": "rules.sigma:SigmaDetector",
    "yara_content": "rules.yara.detector:YaraContentDetector",
}
