"""Once per presentation: a code is reported when it appears, again only after it was gone.

Pure and clock-free: decoded texts and the time are passed in. Codes are tracked by SHA-256
digest, so the tracker holds no payloads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

# Gone means missing from this many decoded frames AND for this long: frames alone would
# re-report at 30 fps after a single-frame decode flicker; time alone would re-report a code
# the decoder misses for a while on a slow, busy CPU.
ABSENT_FRAMES = 5
ABSENT_S = 1.5
MAX_TRACKED_CODES = 16


@dataclass
class _Seen:
    last_seen_s: float
    missed_frames: int = 0


def digest(text: str) -> bytes:
    """The key a code is tracked by."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class PresentationTracker:
    """Feed each decoded frame's texts; get back the ones that start a new presentation."""

    def __init__(self, *, absent_frames: int = ABSENT_FRAMES, absent_s: float = ABSENT_S) -> None:
        self.absent_frames = absent_frames
        self.absent_s = absent_s
        self._seen: dict[bytes, _Seen] = {}

    @property
    def tracked(self) -> int:
        """Codes currently considered in view."""
        return len(self._seen)

    def update(self, texts: Iterable[str], now_s: float) -> list[str]:
        """The texts of this frame that were not in view; updates who is in view."""
        fresh: list[str] = []
        present: set[bytes] = set()
        for text in texts:
            key = digest(text)
            if key in present:
                continue
            present.add(key)
            seen = self._seen.get(key)
            if seen is None:
                fresh.append(text)
                self._seen[key] = _Seen(now_s)
            else:
                seen.last_seen_s = now_s
                seen.missed_frames = 0
        for key, seen in list(self._seen.items()):
            if key in present:
                continue
            seen.missed_frames += 1
            gone_long = now_s - seen.last_seen_s >= self.absent_s
            if seen.missed_frames >= self.absent_frames and gone_long:
                del self._seen[key]
        while len(self._seen) > MAX_TRACKED_CODES:
            oldest = min(self._seen, key=lambda k: self._seen[k].last_seen_s)
            del self._seen[oldest]
        return fresh

    def reset(self) -> None:
        """Forget every code (e.g. at the end of a resident's session)."""
        self._seen.clear()
