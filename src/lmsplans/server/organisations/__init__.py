"""Organisations (tenants): creating one with its first admin, renaming, listing."""
