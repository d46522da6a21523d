"""Parsers for firewall sources (catalogue: dataset name to class)."""

PARSERS: dict[str, str] = {}
