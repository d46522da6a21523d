"""From alerts to incidents: alert handling (dedup, suppression, severity overrides), grouping
by shared entities and time, severity, and the analyst's lifecycle (docs/incidents.md).

Imports only ``soc_core``: the store arrives through the ``Store`` contract, and ``soc_api``
wires this stage between detection and the store in ``soc ingest`` and ``soc run``.
"""
