"""Parsers for web sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {}
