"""Alembic migrations of the lmsplans schema (applied by `lmsplans migrate` and on start)."""
