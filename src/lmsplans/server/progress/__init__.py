"""The progress domain."""
