"""Technician tools for BP meters: replay a capture, or probe a meter with one measurement.

Record shapes (one JSON object per line, see drivers/cli.py):
- SunTech result: kind, error_code, systolic, diastolic, pulse, mean, error
- Omron result:   kind, error_code, systolic, diastolic, pulse, movement, taken_at, error
  (`taken_at` is "YYYY-MM-DDTHH:MM" from the meter's clock; the patient ID field is never output)
- `{"kind": "cuff_pressure", "mmhg"}`; discarded bytes `{"error": reason, "offset": n}`.
Vitals are null when the meter reports an error or the reading is implausible
(docs/design.md §2.2). Host requests in a two-direction capture and the
meter's one-character acknowledgements (O/K/B/A) are skipped silently: the issue's record set is
a contract for tools that read this output.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from drivers.bp.device import BloodPressureMeter
from drivers.bp.events import BpResult, CuffPressure, DecodedItem
from drivers.bp.protocol import BpProtocol, get_protocol
from drivers.errors import FrameError

Record = dict[str, Any]


def result_record(result: BpResult, protocol: BpProtocol) -> Record:
    """The JSON record of a result, with the protocol's own extra fields."""
    record: Record = {
        "kind": "bp_result",
        "error_code": result.error_code,
        "systolic": result.systolic,
        "diastolic": result.diastolic,
        "pulse": result.pulse,
    }
    extras: Record = {
        "mean": result.mean,
        "movement": result.movement,
        "taken_at": None if result.taken_at is None else result.taken_at.strftime("%Y-%m-%dT%H:%M"),
    }
    for name in protocol.result_fields:
        record[name] = extras[name]
    record["error"] = result.error
    return record


def item_record(item: DecodedItem, protocol: BpProtocol) -> Record | None:
    """The JSON record of one decoded item; None for what is not printed (requests, acks)."""
    if isinstance(item, FrameError):
        return {"error": item.reason, "offset": item.offset}
    if isinstance(item, CuffPressure):
        return {"kind": "cuff_pressure", "mmhg": item.mmhg}
    if isinstance(item, BpResult):
        return result_record(item, protocol)
    return None


def decode_capture(data: bytes, protocol: str = "suntech") -> Iterator[Record]:
    """Decode a raw capture of a meter's line (one or both directions), one record per item."""
    spec = get_protocol(protocol)
    decoder = spec.new_decoder()
    for item in [*decoder.feed(data), *decoder.flush()]:
        record = item_record(item, spec)
        if record is not None:
            yield record


def probe(url: str, timeout_s: float, protocol: str = "suntech") -> Iterator[Record]:
    """Run one measurement, yielding cuff pressures as they come and then the result."""
    with BloodPressureMeter(url, protocol=protocol) as meter:
        meter.connect()
        simulator = meter.simulator
        if meter.protocol.push_only and simulator is not None:
            # A push-only meter waits for the resident's START press; simulate that press.
            simulator.control("measure")
        for event in meter.measure_events(timeout_s):
            record = item_record(event, meter.protocol)
            if record is not None:
                yield record
