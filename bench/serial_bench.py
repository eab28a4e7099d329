"""Serial section of `make bench`: ID-card parser throughput and pty latency (p50/p99).

Throughput is measured beside a `bytes.find` preamble scan over the same stream in the same run
(the machine is shared and noisy, so the ratio is the figure to compare across runs).
"""

from __future__ import annotations

import os
import statistics
import time
import tty
from collections.abc import Callable, Sequence
from typing import Protocol

from bench.runner import Figure
from drivers.idcard.decoder import FrameDecoder
from drivers.idcard.frames import PREAMBLE, Response, encode
from drivers.idcard.samples import SAMPLE_CARDS
from drivers.idcard.simulator import read_response
from drivers.link import SerialLink

CHUNK_BYTES = 4096  # what one SerialLink.read returns at most
LATENCY_READ_TIMEOUT_S = 1.0


def _stream(repeats: int) -> tuple[bytes, int]:
    """A reader-side stream of a typical session mix: polls without card, then a read."""
    session = [Response(0x80)] * 6 + [
        Response(0x9F, bytes(4)),
        Response(0x90, bytes(8)),
        read_response(SAMPLE_CARDS["resident"], with_fingerprint=False),
    ]
    one = b"".join(encode(f) for f in session)
    return one * repeats, len(session) * repeats


def _best_of(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    """Fastest wall time of `runs` runs of `work` and its result."""
    best = float("inf")
    result = 0
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def _parse(stream: bytes) -> int:
    decoder = FrameDecoder()
    count = 0
    for start in range(0, len(stream), CHUNK_BYTES):
        count += len(decoder.feed(stream[start : start + CHUNK_BYTES]))
    return count


def _scan(stream: bytes) -> int:
    """Baseline: only find preambles, as the cheapest conceivable framing would."""
    count = 0
    position = stream.find(PREAMBLE)
    while position >= 0:
        count += 1
        position = stream.find(PREAMBLE, position + len(PREAMBLE))
    return count


def throughput(quick: bool) -> list[Figure]:
    """Frames per second of the decoder and of the bare scan over the same stream."""
    stream, frames = _stream(200 if quick else 2000)
    runs = 3 if quick else 5
    parse_s, parsed = _best_of(runs, lambda: _parse(stream))
    scan_s, scanned = _best_of(runs, lambda: _scan(stream))
    if parsed != frames or scanned != frames:
        raise RuntimeError(f"bench stream miscounted: {parsed}/{scanned} of {frames}")
    parse_rate, scan_rate = frames / parse_s, frames / scan_s
    note = f"{frames} frames, {len(stream) / 1e6:.1f} MB, 4 KB chunks"
    return [
        Figure("serial.idcard.parse_frames_per_s", round(parse_rate), "frames/s", note),
        Figure("serial.idcard.parse_mb_per_s", round(len(stream) / parse_s / 1e6, 1), "MB/s"),
        Figure("serial.idcard.scan_baseline_frames_per_s", round(scan_rate), "frames/s", "find"),
        Figure("serial.idcard.parse_vs_scan_ratio", round(parse_rate / scan_rate, 3), "x"),
    ]


def _latencies_ms(frame: bytes, samples: int) -> list[float]:
    """Time from writing a frame's last byte on the device side to the decoder yielding it."""
    master, slave = os.openpty()
    tty.setraw(slave)  # DESIGN §2.4: raw at once, or 0x03 is Ctrl-C and bytes echo
    link = SerialLink(os.ttyname(slave), baudrate=115200, timeout_s=LATENCY_READ_TIMEOUT_S)
    decoder = FrameDecoder()
    out: list[float] = []
    try:
        for _ in range(samples):
            started = time.perf_counter()
            os.write(master, frame)
            items: list[object] = []
            while not items:
                data = link.read(LATENCY_READ_TIMEOUT_S)
                if not data:
                    raise RuntimeError("pty latency sample timed out")
                items = list(decoder.feed(data))
            out.append((time.perf_counter() - started) * 1000.0)
    finally:
        link.close()
        os.close(master)
        os.close(slave)
    return out


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency(quick: bool) -> list[Figure]:
    """Last byte → decoded frame over a real pty, for a short answer and a full card read."""
    samples = 300 if quick else 3000
    figures: list[Figure] = []
    cases = [
        ("", encode(Response(0x9F, bytes(4)))),
        ("read_", encode(read_response(SAMPLE_CARDS["resident"], with_fingerprint=False))),
    ]
    for prefix, frame in cases:
        values = _latencies_ms(frame, samples)
        note = f"{samples} samples, {len(frame)}-byte frame"
        figures += [
            Figure(
                f"serial.idcard.{prefix}latency_p50_ms",
                round(statistics.median(values), 3),
                "ms",
                note,
            ),
            Figure(
                f"serial.idcard.{prefix}latency_p99_ms",
                round(_percentile(values, 0.99), 3),
                "ms",
                note,
            ),
        ]
    return figures


class _Feeder(Protocol):
    def feed(self, data: bytes, /) -> Sequence[object]: ...


def _feed_rate(make_decoder: Callable[[], _Feeder], frame: bytes, frames: int) -> float:
    stream = frame * frames

    def parse() -> int:
        decoder = make_decoder()
        chunks = range(0, len(stream), CHUNK_BYTES)
        return sum(len(decoder.feed(stream[i : i + CHUNK_BYTES])) for i in chunks)

    elapsed, _ = _best_of(3, parse)
    return frames / elapsed


def other_decoders(quick: bool) -> list[Figure]:
    """The BP and QR-scanner decoders on the same footing, when their modules exist."""
    frames = 2000 if quick else 20000
    figures: list[Figure] = []
    try:
        from drivers.qrscan.decoder import LineDecoder

        rate = _feed_rate(LineDecoder, b"HC1:0123456789ABCDEFGHIJ0123456789\r", frames)
        figures.append(Figure("serial.qrscan.parse_frames_per_s", round(rate), "frames/s"))
    except (ImportError, AttributeError, TypeError) as exc:
        figures.append(Figure("serial.qrscan.skipped", type(exc).__name__))
    try:
        from drivers.bp.suntech import SuntechDecoder, cuff_pressure_frame

        rate = _feed_rate(SuntechDecoder, cuff_pressure_frame(120), frames)
        figures.append(Figure("serial.bp_suntech.parse_frames_per_s", round(rate), "frames/s"))
    except (ImportError, AttributeError, TypeError) as exc:
        figures.append(Figure("serial.bp_suntech.skipped", type(exc).__name__))
    return figures


def run(quick: bool) -> list[Figure]:
    """All serial figures: the ID-card decoder, then the BP/QR decoders if present."""
    return throughput(quick) + latency(quick) + other_decoders(quick)
