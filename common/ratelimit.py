"""Token buckets: how the agent reports rejected commands and how the city's responder bounds
each kiosk's online calls (docs/points.md "The responder"). `now` is monotonic seconds."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`capacity` tokens, one more every `refill_s` seconds; `now` is monotonic seconds."""

    capacity: int
    refill_s: float
    tokens: float = field(init=False)
    _updated: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.capacity)

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        if self._updated is not None:
            elapsed = max(0.0, now - self._updated)
            self.tokens = min(float(self.capacity), self.tokens + elapsed / self.refill_s)
        self._updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class KeyedBuckets:
    """One TokenBucket per key (a kiosk), at most `max_keys` of them: memory stays bounded
    whatever keys arrive. When full, the longest-unused bucket goes; a key seen again after
    that starts full, which errs towards answering."""

    capacity: int
    refill_s: float
    max_keys: int = 20_000
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, init=False)

    def take(self, key: str, now: float) -> bool:
        """Spend one of `key`'s tokens if it has one."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self.capacity, self.refill_s)
            while len(self._buckets) >= self.max_keys:
                del self._buckets[next(iter(self._buckets))]
        self._buckets[key] = bucket  # re-inserted: dict order is least recently used first
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)
