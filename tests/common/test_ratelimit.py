"""Token buckets, alone and one per key with bounded memory."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common.ratelimit import KeyedBuckets, TokenBucket


def test_a_bucket_allows_its_burst_then_one_per_refill() -> None:
    bucket = TokenBucket(2, 10.0)
    assert [bucket.take(0.0) for _ in range(3)] == [True, True, False]
    assert not bucket.take(9.0)
    assert bucket.take(10.0)
    assert bucket.take(-100.0) is False  # a clock going back refills nothing


@given(keys=st.lists(st.text(max_size=8), max_size=300))
def test_keyed_buckets_never_hold_more_than_max_keys(keys: list[str]) -> None:
    limits = KeyedBuckets(1, 60.0, max_keys=16)
    for key in keys:
        limits.take(key, 0.0)
        assert len(limits) <= 16


def test_each_key_has_its_own_burst() -> None:
    limits = KeyedBuckets(2, 60.0)
    assert [limits.take("a", 0.0) for _ in range(3)] == [True, True, False]
    assert limits.take("b", 0.0)


def test_the_least_recently_used_key_goes_first() -> None:
    limits = KeyedBuckets(1, 60.0, max_keys=2)
    assert limits.take("a", 0.0)
    assert limits.take("b", 0.0)
    assert not limits.take("a", 1.0)  # "a" used again: "b" is now the oldest
    assert limits.take("c", 1.0)  # evicts "b"
    assert not limits.take("a", 1.0)  # "a" kept its empty bucket
    assert limits.take("b", 1.0)  # "b" starts again full
