"""Parsers for windows sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {}
