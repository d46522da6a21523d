"""Parsers for cisco sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {}
