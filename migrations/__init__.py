"""Alembic migrations (date-prefixed revisions), shipped inside the package so an installed
gateway can migrate its database: `gateway db upgrade` (or automatically on `gateway serve`)."""
