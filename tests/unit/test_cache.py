"""The process's cache: entries hold for one data version, and the bound counts records, so
a value holding many (a plan's roster) weighs as many."""

from __future__ import annotations

from lmsplans.server.cache import VersionedCache


def test_a_newer_version_empties_the_cache_and_an_older_value_is_not_kept() -> None:
    cache = VersionedCache(max_entries=10)
    cache.sync(3)
    cache.put("a", 1, version=3)
    cache.put("b", 2, version=2)  # read before the version the cache stands for
    assert cache.get("a") == 1 and cache.get("b") is None
    cache.sync(4)
    assert cache.get("a") is None


def test_the_bound_counts_weights_and_drops_the_least_recently_used() -> None:
    cache = VersionedCache(max_entries=10)
    cache.sync(1)
    cache.put("token", "t", version=1)
    cache.put("roster", "r", version=1, weight=6)
    cache.put("learner", "l", version=1, weight=3)
    assert cache.get("token") == "t"  # now the most recently used
    cache.put("other", "o", version=1, weight=2)  # 12 > 10: the roster goes first
    assert cache.get("roster") is None
    assert [cache.get(key) for key in ("token", "learner", "other")] == ["t", "l", "o"]
    cache.put("learner", "l2", version=1, weight=1)  # replacing frees the old weight
    cache.put("more", "m", version=1, weight=5)
    assert [cache.get(key) for key in ("token", "learner", "other", "more")] == [
        "t",
        "l2",
        "o",
        "m",
    ]


def test_a_value_heavier_than_the_whole_cache_is_not_kept() -> None:
    cache = VersionedCache(max_entries=4)
    cache.sync(1)
    cache.put("small", 1, version=1)
    cache.put("huge", 2, version=1, weight=5)
    assert cache.get("huge") is None and cache.get("small") == 1
    off = VersionedCache(max_entries=0)
    off.sync(1)
    off.put("a", 1, version=1)
    assert off.get("a") is None
