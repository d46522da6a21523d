"""Maintenance scripts for the rules package (generated data files)."""
