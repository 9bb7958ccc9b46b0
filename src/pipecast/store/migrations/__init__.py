"""Alembic migrations for the pipecast store, shipped inside the package and run by `Store.open`."""
