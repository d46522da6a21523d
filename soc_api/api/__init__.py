"""The routes of the SOC API under ``/api/v1``: one module per resource, errors in :mod:`.errors`."""
