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
from typing import Any, Protocol


class VersionedCache:
    """A bounded LRU cache whose entries hold for one data version.

    The bound counts records: a token or a learner is one, a value that holds many (a
    plan's roster holds one per learner) is kept with its `weight`, so a few large values
    cannot hold more memory than `max_entries` small ones would.
    """

    def __init__(self, *, max_entries: int) -> None:
        self.max_entries = max_entries
        self.version = -1
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._weight = 0

    def sync(self, version: int) -> None:
        """Adopt the version a request has just read; a newer one empties the cache."""
        if version > self.version:
            self.clear()
            self.version = version

    def get(self, key: Hashable) -> Any | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: Hashable, value: Any, *, version: int, weight: int = 1) -> None:
        """Keep `value` (worth `weight` records), read at `version`, unless the cache has
        moved past that version meanwhile (then the value may be older than what the cache
        stands for) or it alone outweighs the whole cache."""
        if version != self.version or not 0 < weight <= self.max_entries:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._weight -= previous[1]
        self._entries[key] = (value, weight)
        self._weight += weight
        while self._weight > self.max_entries:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._weight -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self._weight = 0


class Keeper(Protocol):
    """What keeps values while the data version holds: an API call (`http.Call`) or a page
    (`ui.http.PageCall`), both over the process's `VersionedCache`."""

    def cached(self, key: Hashable) -> Any | None: ...

    def keep(self, key: Hashable, value: Any, *, weight: int = 1) -> None: ...
