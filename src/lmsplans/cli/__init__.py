"""The `lmsplans` command line."""
