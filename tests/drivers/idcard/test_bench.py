"""The serial benchmark section runs in quick mode and reports the ID-card figures."""

from __future__ import annotations

from bench import serial_bench


def test_quick_serial_bench_reports_idcard_figures() -> None:
    """Quick mode yields throughput beside its scan baseline and pty latency percentiles."""
    figures = {f.key: f.value for f in serial_bench.run(quick=True)}
    for key in (
        "serial.idcard.parse_frames_per_s",
        "serial.idcard.scan_baseline_frames_per_s",
        "serial.idcard.parse_vs_scan_ratio",
        "serial.idcard.latency_p50_ms",
        "serial.idcard.latency_p99_ms",
        "serial.idcard.read_latency_p99_ms",
    ):
        value = figures[key]
        assert isinstance(value, int | float)
        assert value > 0
    p50, p99 = figures["serial.idcard.latency_p50_ms"], figures["serial.idcard.latency_p99_ms"]
    assert isinstance(p50, float)
    assert isinstance(p99, float)
    assert p50 <= p99
