"""Threat intelligence: indicators in the store, matching at ingest, sharing over STIX/TAXII and MISP.

See ``docs/intel.md``. Imports ``soc_core`` only (and the STIX/TAXII libraries).
"""
