"""Offline validation of Sigma rules (``soc rules check``): pySigma's validators, fed
with data files shipped in ``data/`` instead of downloaded."""
