"""What a process may keep between requests: values read at one data version.

Every committed write transaction increments the database's data version
(`Database.transaction`). A request reads that number first (`Database.data_version`: on
SQLite only after the WAL index shows a commit, on PostgreSQL one read for every request
that arrived before it started); while it is unchanged, tokens, learners and rendered
progress read earlier are still exactly what the database holds, so the hot path answers
from memory. Any write, by any process, makes every entry stale at once: a revoked token or
a recorded course is seen by the very next request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class VersionedCache:
    """A bounded LRU cache whose entries hold for one data version."""

    def __init__(self, *, max_entries: int) -> None:
        self.max_entries = max_entries
        self.version = -1
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def sync(self, version: int) -> None:
        """Adopt the version a request has just read; a newer one empties the cache."""
        if version > self.version:
            self._entries.clear()
            self.version = version

    def get(self, key: Hashable) -> Any | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any, *, version: int) -> None:
        """Keep `value`, read at `version`, unless the cache has moved past that version
        meanwhile (then the value may be older than what the cache stands for)."""
        if version != self.version or self.max_entries <= 0:
            return
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
