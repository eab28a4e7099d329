"""Self-tests on the diagnostics screen and for the city: per-device results, no measurement
unless the technician asks for one."""

from __future__ import annotations

from common.selftest import Check, SelfTestReport
from kiosk.core import inputs as i
from kiosk.core.machine import Command, State
from kiosk.core.remote_diagnostics import RemoteSelfTestRun
from tests.kiosk_core.support import rig_in

SAM_OK = SelfTestReport.of(
    "idcard", [Check("sam_status", True), Check("sam_id", True, "05.01-2024")], 0.2
)
BP_STUCK = SelfTestReport.of(
    "bp", [Check("port", True, "open"), Check("device_status", False, "cuff holds 80 mmHg")], 0.3
)


def test_a_self_test_button_asks_for_status_only_and_shows_running() -> None:
    """RunSelfTest(bp) sends SELF_TEST_BP (no measurement); the screen says it is running."""
    rig = rig_in(State.DIAGNOSTICS)
    step = rig.session.handle(i.RunSelfTest("bp"))
    assert step.commands == (Command.SELF_TEST_BP,)
    (view,) = rig.session.views.diagnostics.self_tests
    assert (view.device, view.status) == ("bp", "running")


def test_a_test_measurement_only_when_asked_for() -> None:
    """RunSelfTest(bp, measure=True) is the one way to a measurement from diagnostics."""
    rig = rig_in(State.DIAGNOSTICS)
    assert rig.session.handle(i.RunSelfTest("bp", measure=True)).commands == (
        Command.SELF_TEST_BP_MEASURE,
    )
    assert rig.session.handle(i.RunSelfTest("idcard", measure=True)).commands == (
        Command.SELF_TEST_IDCARD,
    )


def test_reports_show_per_device_with_one_line_per_check() -> None:
    """Each device's report shows passed/failed and its checks with their details."""
    rig = rig_in(State.DIAGNOSTICS)
    rig.send(i.SelfTestDone(SAM_OK), i.SelfTestDone(BP_STUCK))
    views = {v.device: v for v in rig.session.views.diagnostics.self_tests}
    assert views["idcard"].status == "passed"
    assert views["idcard"].lines == ("sam_status: 正常", "sam_id: 正常 05.01-2024")  # zh screen
    assert views["bp"].status == "failed"
    assert views["bp"].lines[1] == "device_status: 失败 cuff holds 80 mmHg"
    assert rig.session.state is State.DIAGNOSTICS


def test_reports_arriving_in_a_resident_session_change_nothing_for_the_resident() -> None:
    """A city-requested run may finish while a resident is here: state and events unchanged."""
    rig = rig_in(State.SERVICES)
    before = list(rig.sink.events)
    rig.send(i.SelfTestDone(BP_STUCK))
    assert rig.session.state is State.SERVICES
    assert rig.sink.events == before


def test_report_details_are_redacted_again() -> None:
    """A detail that looks like an ID number never reaches the screen."""
    leaky = SelfTestReport.of("idcard", [Check("sam_id", True, "11010519491231002X")], 0.1)
    rig = rig_in(State.DIAGNOSTICS)
    rig.send(i.SelfTestDone(leaky))
    (view,) = rig.session.views.diagnostics.self_tests
    assert "11010519491231002X" not in view.lines[0]


def test_remote_run_waits_for_every_device_then_reports_in_order() -> None:
    """The result lists every configured device's report, in device order, once all answered."""
    run = RemoteSelfTestRun("cmd-1", ("idcard", "bp"), started_s=100.0, timeout_s=20.0)
    run.add(BP_STUCK)
    assert not run.done(101.0)
    run.add(SAM_OK)
    run.add(SelfTestReport.of("camera", [Check("frame", True)], 0.1))  # not awaited: ignored
    assert run.done(101.0)
    result = run.result()
    assert result["command_id"] == "cmd-1"
    assert [d["device"] for d in result["devices"]] == ["idcard", "bp"]
    assert result["devices"][1]["ok"] is False
    assert result["missing"] == []


def test_remote_run_names_the_devices_that_did_not_answer() -> None:
    """At the deadline the run is done; silent devices are listed as missing."""
    run = RemoteSelfTestRun("cmd-2", ("idcard", "qrscan"), started_s=100.0, timeout_s=20.0)
    run.add(SAM_OK)
    assert not run.done(119.9)
    assert run.done(120.0)
    assert run.result()["missing"] == ["qrscan"]
