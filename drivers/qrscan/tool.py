"""Technician tool for serial scanners: replay a capture, probe a port (no payload ever printed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from drivers.errors import FrameError
from drivers.qrscan.decoder import LineDecoder, ScannerEvent
from drivers.qrscan.device import QrScanner
from drivers.qrscan.frames import MenuReply, Suffix
from drivers.qrscan.token import QrScanned

Record = dict[str, Any]


def guess_suffix(data: bytes) -> Suffix:
    """The suffix a capture most likely uses: CRLF, else CR, else LF (CR if none is seen)."""
    if b"\r\n" in data:
        return Suffix.CRLF
    if b"\r" in data or b"\n" not in data:
        return Suffix.CR
    return Suffix.LF


def record(event: ScannerEvent) -> Record:
    """One printable JSON record per decoder event; a code shows its kind and length only."""
    if isinstance(event, QrScanned):
        return dict(event.summary())
    if isinstance(event, MenuReply):
        return {
            "kind": "menu_reply",
            "text": event.text,
            "statuses": [s.name.lower() for s in event.statuses],
            "volatile": event.volatile,
        }
    assert isinstance(event, FrameError)
    return {"error": event.reason, "offset": event.offset}


def decode_capture(data: bytes, *, suffix: str = "auto", max_payload: int = 0) -> Iterator[Record]:
    """Decode a raw capture; `suffix` cr/lf/crlf or auto; max_payload 0 means the default."""
    chosen = guess_suffix(data) if suffix == "auto" else Suffix.parse(suffix)
    decoder = (
        LineDecoder(suffix=chosen, max_payload=max_payload)
        if max_payload
        else LineDecoder(suffix=chosen)
    )
    for event in decoder.feed(data):
        yield record(event)
    for event in decoder.finish():
        yield record(event)


def probe(url: str, timeout_s: float, *, suffix: str = "cr") -> Iterator[Record]:
    """Trigger the scanner at `url` and wait up to `timeout_s` for one code."""
    with QrScanner(url, suffix=suffix) as scanner:
        sent = scanner.trigger()
        scanned = scanner.scan(timeout_s)
        if sent:
            scanner.untrigger()
        if scanned is None:
            yield {"kind": "no_code", "timeout_s": timeout_s, "connected": scanner.connected}
        else:
            yield dict(scanned.summary())
