"""Detection rules: the streaming Sigma engine (``rules.sigma``), alert documents
(``rules.alerts``) and the ATT&CK lookup (``rules.attack``).

``BUILTIN_DETECTORS`` declares the built-in detectors for ``soc_core.registry``.
"""

from __future__ import annotations

BUILTIN_DETECTORS: dict[str, str] = {"sigma": "rules.sigma:SigmaDetector"}
