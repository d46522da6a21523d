"""Correlation: Sigma correlation rules evaluated over sliding, event-time windows.

``sigma_correlation`` (the engine and detector), ``spec`` (rule compilation), ``windows``
(pure window arithmetic), ``state`` (the window store interface and its in-memory
reference), ``alert`` (the alert document).
"""

from __future__ import annotations

BUILTIN_DETECTORS: dict[str, str] = {
    "sigma_correlation": "correlation.sigma_correlation:SigmaCorrelationDetector",
    "anomaly": "correlation.anomaly.detector:AnomalyDetector",
}
