"""The process's cache: a change drops exactly the entries kept under its tags, a value read
before a change to its tags is not kept after it, and the bound counts records, so a value
holding many (a plan's roster) weighs as many."""

from __future__ import annotations

from lmsplans.server.cache import TaggedCache


def test_a_change_drops_exactly_the_entries_it_names() -> None:
    cache = TaggedCache(max_entries=10)
    cache.put("token", "t", tags=("token:h", "learner:1"), since=0)
    cache.put("page 1", "p1", tags=("learner:1", "plans:9"), since=0)
    cache.put("page 2", "p2", tags=("learner:2", "plans:9"), since=0)
    cache.invalidate(["learner:1"])
    assert [cache.get(k) for k in ("token", "page 1", "page 2")] == [None, None, "p2"]
    cache.invalidate(["plans:9"])
    assert cache.get("page 2") is None and len(cache) == 0
    cache.put("again", "a", tags=("learner:3",), since=cache.epoch)
    cache.invalidate(["*"])  # a restore: everything
    assert cache.get("again") is None


def test_a_value_read_before_a_change_to_its_tags_is_not_kept() -> None:
    cache = TaggedCache(max_entries=10)
    since = cache.epoch  # a request caught up here, then read...
    cache.invalidate(["learner:1"])  # ...while another request followed a change
    cache.put("stale", "s", tags=("learner:1",), since=since)
    cache.put("other", "o", tags=("learner:2",), since=since)  # not what changed: kept
    assert cache.get("stale") is None and cache.get("other") == "o"
    cache.invalidate(["*"])
    cache.put("any", "a", tags=("learner:5",), since=since)  # everything changed since
    assert cache.get("any") is None


def test_a_put_older_than_the_history_kept_is_refused() -> None:
    cache = TaggedCache(max_entries=10)
    since = cache.epoch
    for n in range(1000):
        cache.invalidate([f"plan:{n}"])
    cache.put("slow", "s", tags=("learner:1",), since=since)
    assert cache.get("slow") is None
    cache.put("fresh", "f", tags=("learner:1",), since=cache.epoch)
    assert cache.get("fresh") == "f"


def test_the_bound_counts_weights_and_drops_the_least_recently_used() -> None:
    cache = TaggedCache(max_entries=10)
    cache.put("token", "t", tags=("a",), since=0)
    cache.put("roster", "r", tags=("b",), since=0, weight=6)
    cache.put("learner", "l", tags=("a",), since=0, weight=3)
    assert cache.get("token") == "t"  # now the most recently used
    cache.put("other", "o", tags=("c",), since=0, weight=2)  # 12 > 10: the roster goes first
    assert cache.get("roster") is None
    assert [cache.get(key) for key in ("token", "learner", "other")] == ["t", "l", "o"]
    cache.put("learner", "l2", tags=("a",), since=0, weight=1)  # replacing frees the old weight
    cache.put("more", "m", tags=("d",), since=0, weight=5)
    assert [cache.get(key) for key in ("token", "learner", "other", "more")] == [
        "t",
        "l2",
        "o",
        "m",
    ]
    cache.invalidate(["b"])  # the roster's tag: it left already, nothing else goes
    assert len(cache) == 4


def test_a_value_heavier_than_the_whole_cache_is_not_kept() -> None:
    cache = TaggedCache(max_entries=4)
    cache.put("small", 1, tags=("a",), since=0)
    cache.put("huge", 2, tags=("a",), since=0, weight=5)
    assert cache.get("huge") is None and cache.get("small") == 1
    off = TaggedCache(max_entries=0)
    off.put("a", 1, tags=("a",), since=0)
    assert off.get("a") is None
