"""responders package."""
