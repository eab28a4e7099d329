"""Event ids, envelopes and their JSON for a whole batch at once: the outbox's hot path.

`contract.new_event` stays the definition of an envelope: it builds one event per type in a
batch, and the other events of that type are copies with their own id, seq and data. Each
event is numbered in its type's stream (`contract.stream_of`): heartbeats apart from the rest. Their
JSON is assembled from pieces encoded once per batch and is byte-for-byte what `encode(event)`
gives (tests/edge_agent/test_envelopes.py pins this); if the contract's key order ever stops
allowing that, every event is simply encoded whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.ids import uuid7s
from edge_agent.contract import STREAMS, Event, Identity, new_event, stream_of

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_SPLICED = ("id", "seq", "data")  # the per-event keys, first and last two of an envelope


def encode(event: Event) -> bytes:
    """Compact UTF-8 JSON of one event, as stored and as packed into batches."""
    return _ENCODER.encode(event).encode("utf-8")


def new_event_ids(count: int, now: float) -> list[str]:
    """`count` time-ordered UUIDs (version 7) for events created at `now` (epoch s)."""
    return uuid7s(count, now)


@dataclass
class Batch:
    """Events of one put_many, numbered per stream from `first_seqs`, and their JSON pieces."""

    events: list[Event]
    first_seqs: dict[str, int]
    # (stream, position within that stream in this batch) of every event
    _slots: list[tuple[str, int]] = field(repr=False)
    # payload = head + str(seq) + tail; None: the event is encoded whole
    _pieces: list[tuple[str, str] | None] = field(repr=False)

    def counts(self) -> dict[str, int]:
        """How many numbers each stream needs for this batch."""
        out: dict[str, int] = {}
        for stream, _ in self._slots:
            out[stream] = out.get(stream, 0) + 1
        return out

    def renumber(self, first_seqs: Mapping[str, int]) -> None:
        """Give each stream's events seq first_seqs[stream], + 1, ..."""
        self.first_seqs = dict(first_seqs)
        for event, (stream, offset) in zip(self.events, self._slots, strict=True):
            event["seq"] = self.first_seqs[stream] + offset

    def payloads(self) -> list[bytes]:
        """The JSON of every event, as encode(event) gives it."""
        out = []
        first = self.first_seqs
        for event, (stream, offset), pieces in zip(
            self.events, self._slots, self._pieces, strict=True
        ):
            if pieces is None:
                out.append(encode(event))
            else:
                out.append(f"{pieces[0]}{first[stream] + offset}{pieces[1]}".encode())
        return out


def build_batch(
    items: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    identity: Identity,
    boot_id: str,
    first_seqs: Mapping[str, int],
    moment: datetime,
    ids: Sequence[str],
) -> Batch:
    """Events numbered per stream from `first_seqs` (default 1); ContractError on an unknown type.

    `ids` come from new_event_ids (their characters need no JSON escaping).
    """
    templates: dict[str, tuple[Event, str | None]] = {}
    events: list[Event] = []
    slots: list[tuple[str, int]] = []
    pieces: list[tuple[str, str] | None] = []
    used: dict[str, int] = {}
    first = {stream: first_seqs.get(stream, 1) for stream in STREAMS}
    for offset, (event_type, data) in enumerate(items):
        stream = stream_of(event_type)
        position = used.get(stream, 0)
        used[stream] = position + 1
        seq = first[stream] + position
        found = templates.get(event_type)
        if found is None:
            event = new_event(
                event_type,
                data,
                identity=identity,
                boot_id=boot_id,
                seq=seq,
                now=moment,
                event_id=ids[offset],
            )
            middle = _middle(event)
            templates[event_type] = (event, middle)
        else:
            template, middle = found
            event = {**template, "id": ids[offset], "seq": seq, "data": dict(data)}
        events.append(event)
        slots.append((stream, position))
        if middle is None:
            pieces.append(None)
        else:
            head = f'{{"id":"{ids[offset]}",{middle},"seq":'
            pieces.append((head, f',"data":{_ENCODER.encode(event["data"])}}}'))
    return Batch(events, first, slots, pieces)


def _middle(event: Event) -> str | None:
    """The JSON of every key but id, seq and data, without braces; None if not spliceable."""
    keys = list(event)
    if len(keys) < 4 or (keys[0], keys[-2], keys[-1]) != _SPLICED:
        return None
    return _ENCODER.encode({k: event[k] for k in keys[1:-2]})[1:-1]
