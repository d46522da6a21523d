"""Parsers for linux sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {}
