"""soc_api package."""
