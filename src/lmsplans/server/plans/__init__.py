"""The plans domain."""
