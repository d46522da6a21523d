"""Parsers for endpoint sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {}
