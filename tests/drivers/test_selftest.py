"""Device self-tests ask the device something real, over real ptys to the simulators."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from common.selftest import Check, SelfTestReport
from drivers.bp.device import BloodPressureMeter
from drivers.bp.simulator import make_simulator as make_bp_simulator
from drivers.camera.check import self_test_latest, self_test_source
from drivers.camera.source import ImageFilesSource
from drivers.idcard.device import IdCardReader
from drivers.qrscan.device import SELF_TEST_QUERY, QrScanner
from drivers.qrscan.simulator import make_simulator as make_qr_simulator
from drivers.simulation import PtySimulatorHost


def names(report: SelfTestReport) -> list[tuple[str, bool]]:
    return [(c.name, c.ok) for c in report.checks]


@pytest.fixture
def suntech() -> Iterator[PtySimulatorHost]:
    host = PtySimulatorHost(make_bp_simulator("normal", "suntech", time_scale=0.3))
    host.start()
    yield host
    host.stop()


def test_report_is_ok_only_when_every_check_passed() -> None:
    """SelfTestReport.of: all checks ok → ok; any failed or none at all → not ok."""
    good, bad = Check("a", True), Check("b", False, "why")
    assert SelfTestReport.of("bp", [good], 0.1).ok
    assert not SelfTestReport.of("bp", [good, bad], 0.1).ok
    assert not SelfTestReport.of("bp", [], 0.1).ok
    assert SelfTestReport.of("bp", [bad], 0.1).as_dict()["checks"] == [
        {"name": "b", "ok": False, "detail": "why"}
    ]


def test_idcard_self_test_reads_sam_status_and_id() -> None:
    """The ID reader's self-test asks the SAM's status and id; both pass on a healthy module."""
    with IdCardReader("sim://idcard?scenario=absent") as reader:
        report = reader.self_test(3.0)
    assert report.ok
    assert names(report) == [("sam_status", True), ("sam_id", True)]
    assert report.checks[1].detail == "05.01-20240101-0000012345-0000067890"


def test_idcard_self_test_reports_a_sam_fault() -> None:
    """A SAM answering 0x66 (not authorised) fails sam_status with the device's meaning."""
    with IdCardReader("sim://idcard?scenario=sam_not_authorised") as reader:
        report = reader.self_test(3.0)
    assert not report.ok
    assert names(report) == [("sam_status", False)]
    assert "0x66" in report.checks[0].detail


def test_idcard_self_test_on_a_missing_port_fails_without_raising(tmp_path: Path) -> None:
    """No device at the path: a failed check, never an exception."""
    with IdCardReader(str(tmp_path / "ttyNONE")) as reader:
        report = reader.self_test(1.0)
    assert not report.ok
    assert report.checks[0].name == "sam_status"
    assert "DeviceDisconnected" in report.checks[0].detail


def test_bp_self_test_asks_the_idle_meter_without_measuring(suntech: PtySimulatorHost) -> None:
    """SunTech: the idle module answers its cuff pressure (0 mmHg); no measurement is started."""
    with BloodPressureMeter(suntech.port_path, protocol="suntech") as meter:
        report = meter.self_test(2.0)
    assert report.ok
    assert names(report) == [("port", True), ("device_status", True)]
    assert "0 mmHg" in report.checks[1].detail
    assert suntech.simulator.inflation is None  # type: ignore[attr-defined]
    assert suntech.simulator.last_result is None  # type: ignore[attr-defined]


def test_bp_self_test_fails_on_a_cuff_under_pressure(suntech: PtySimulatorHost) -> None:
    """A meter whose cuff holds pressure while asked idle fails device_status."""
    with BloodPressureMeter(suntech.port_path, protocol="suntech") as meter:
        events = meter.measure_events(30.0)
        next(events)  # inflating now
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            report = meter.self_test(2.0)
            if not report.ok:
                break
        events.close()
    assert names(report) == [("port", True), ("device_status", False)]
    assert "mmHg while idle" in report.checks[1].detail


def test_bp_self_test_measures_only_when_asked(suntech: PtySimulatorHost) -> None:
    """measure=True adds a measurement check; the report carries no vital values."""
    with BloodPressureMeter(suntech.port_path, protocol="suntech") as meter:
        report = meter.self_test(2.0, measure=True)
    assert names(report) == [("port", True), ("device_status", True), ("measurement", True)]
    text = str(report.as_dict())
    assert "128" not in text  # the simulator's systolic
    assert "84" not in text  # and diastolic


def test_push_only_bp_self_test_checks_the_port() -> None:
    """Omron 9030 cannot be queried: the port is checked and the detail says so."""
    with BloodPressureMeter("sim://bp-omron9030", protocol="omron9030") as meter:
        report = meter.self_test(1.0)
    assert report.ok
    assert "no status query" in report.checks[1].detail


def test_qr_self_test_queries_the_menu() -> None:
    """A menu-capable scanner echoes the trigger-mode query; the query changes nothing."""
    host = PtySimulatorHost(make_qr_simulator("default"))
    host.start()
    try:
        with QrScanner(host.port_path) as scanner:
            report = scanner.self_test(1.0)
        assert report.ok
        assert names(report) == [("port", True), ("status", True)]
        assert host.simulator.menu_commands == [SELF_TEST_QUERY]  # type: ignore[attr-defined]
    finally:
        host.stop()


def test_qr_self_test_on_an_unplugged_scanner_fails() -> None:
    """An unplugged scanner fails the port check (no exception)."""
    host = PtySimulatorHost(make_qr_simulator("default"))
    host.start()
    try:
        with QrScanner(host.port_path) as scanner:
            host.unplug()
            report = scanner.self_test(0.5)
        assert not report.ok
    finally:
        host.stop()


def test_suffix_scanner_self_test_checks_the_port_only() -> None:
    """A plain suffix scanner has no query: the port check passes, the detail says so."""
    with QrScanner("sim://qrscan?scenario=default") as scanner:
        report = scanner.self_test(0.5, menu=False)
    assert report.ok
    assert "no status query" in report.checks[1].detail


def test_camera_self_test_grabs_a_frame(tmp_path: Path) -> None:
    """A source frame with content passes `frame` and `image`; a black one fails `image`."""
    import cv2

    scene = np.zeros((120, 160), dtype=np.uint8)
    scene[30:90, 40:120] = 255
    cv2.imwrite(str(tmp_path / "a.png"), scene)
    report = self_test_source(ImageFilesSource([tmp_path / "a.png"]), 1.0)
    assert names(report) == [("frame", True), ("image", True)]
    assert report.checks[0].detail == "160x120"
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((120, 160), dtype=np.uint8))
    dark = self_test_source(ImageFilesSource([tmp_path / "b.png"]), 1.0)
    assert names(dark) == [("frame", True), ("image", False)]


def test_camera_self_test_fails_when_no_new_frame_arrives() -> None:
    """A running capture that stopped delivering frames fails `frame` after the timeout."""
    frame = np.full((10, 10), 128, dtype=np.uint8)
    report = self_test_latest(lambda: (frame, 7), 0.1)
    assert names(report) == [("frame", False)]
