"""What a process may keep between requests, and how it learns what a write made stale.

Every committed write transaction records, in the same transaction, the cache tags of what
it changed (`lmsplans.server.changes`: `learner:12`, `plan:4`, `token:<hash>`...). Each
process follows that log (`Database.follow`, `Database.catch_up`: on SQLite one `pread` of
the WAL index while nothing was committed, on PostgreSQL one look for every request that
arrived before it started) and drops exactly the entries kept under those tags. A request
catches up first, so a revoked token or a recorded course is seen by the very next request
of any process, and a write leaves every entry it did not touch where it is.

Each entry is kept with its tags: a token with its own tag, its learner's and its
organisation's; a learner with theirs; a rendered progress page with its learner's, where
they stand (`progress:<id>`, which recording progress names, leaving the learner's tokens
and record kept) and the tags of the organisation's plans; a roster with its plan's, its
courses' and the organisation's people. A value read before an invalidation that another
request processed meanwhile is not kept (`TaggedCache.put`): it may be older than what the
cache holds.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Collection, Hashable, Iterable
from typing import Any, Protocol

from lmsplans.server.changes.log import EVERYTHING

# How many recent invalidations a late `put` can be checked against; one older than that
# is refused (its request was slower than this many commits).
_HISTORY = 256


class TaggedCache:
    """A bounded LRU cache whose entries hold until a change names one of their tags.

    The bound counts records: a token or a learner is one, a value that holds many (a
    plan's roster holds one per learner) is kept with its `weight`, so a few large values
    cannot hold more memory than `max_entries` small ones would.

    `epoch` counts the invalidations applied; a request notes it after catching up and
    gives it to `put`, which refuses a value that an invalidation since then may have made
    stale.
    """

    def __init__(self, *, max_entries: int) -> None:
        self.max_entries = max_entries
        self.epoch = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int, Collection[str]]] = OrderedDict()
        self._by_tag: dict[str, set[Hashable]] = {}
        self._weight = 0
        self._recent: deque[tuple[int, frozenset[str]]] = deque(maxlen=_HISTORY)

    def invalidate(self, tags: Iterable[str]) -> None:
        """Drop every entry kept under one of `tags` (`*`: every entry)."""
        dropped = frozenset(tags)
        if not dropped:
            return
        self.epoch += 1
        self._recent.append((self.epoch, dropped))
        if EVERYTHING in dropped:
            self.clear()
            return
        for name in dropped:
            for key in self._by_tag.pop(name, ()):
                self._remove(key)

    def get(self, key: Hashable) -> Any | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(
        self,
        key: Hashable,
        value: Any,
        *,
        tags: Collection[str],
        since: int,
        weight: int = 1,
    ) -> None:
        """Keep `value` (worth `weight` records) under `tags`, read by a request that
        caught up at epoch `since`, unless an invalidation since then named one of its
        tags (the value may be older than that change) or it alone outweighs the cache."""
        if not 0 < weight <= self.max_entries or self._stale_since(since, tags):
            return
        self._remove(key)
        self._entries[key] = (value, weight, tags)
        for name in tags:
            self._by_tag.setdefault(name, set()).add(key)
        self._weight += weight
        while self._weight > self.max_entries:
            self._remove(next(iter(self._entries)))

    def _stale_since(self, since: int, tags: Collection[str]) -> bool:
        if since == self.epoch:
            return False
        if not self._recent or self._recent[0][0] > since + 1:  # history does not reach
            return True
        for epoch, dropped in reversed(self._recent):
            if epoch <= since:
                return False
            if EVERYTHING in dropped or not dropped.isdisjoint(tags):
                return True
        return False

    def _remove(self, key: Hashable) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        _, weight, tags = found
        self._weight -= weight
        for name in tags:
            keys = self._by_tag.get(name)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[name]

    def clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self._weight = 0

    def __len__(self) -> int:
        return len(self._entries)


class Keeper(Protocol):
    """What keeps values until a change names their tags: an API call (`http.Call`) or a
    page (`ui.http.PageCall`), both over the process's `TaggedCache`."""

    def cached(self, key: Hashable) -> Any | None: ...

    def keep(
        self, key: Hashable, value: Any, *, tags: Collection[str], weight: int = 1
    ) -> None: ...
