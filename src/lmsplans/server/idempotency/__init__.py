"""Idempotency keys of writes: a retry with the same key and request answers the first
response and changes nothing; the same key with another request is 422 7054."""
