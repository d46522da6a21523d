"""soc_store package."""
