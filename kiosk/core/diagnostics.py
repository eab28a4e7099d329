"""Kiosk-wide technician state: device health, outbox, recent log lines, the PIN gate.

None of it is personal (device messages and log lines are redacted on the way in), so it
survives the per-resident wipe.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Literal

from config.privacy import redact_text
from kiosk.core import events as ev
from kiosk.core import inputs as i
from kiosk.core import render
from kiosk.core.i18n import Strings
from kiosk.core.technician import PinGate, PinResult
from kiosk.core.views import DeviceStateView, DiagnosticsView, OutboxView, SelfTestView

MAX_LOG_LINES = 50
MAX_LOG_LINE_CHARS = 300
MAX_CHECKS_SHOWN = 8
MAX_CHECK_DETAIL_CHARS = 120


class DiagnosticsState:
    """What the diagnostics screens show, and the rule "log once when down, once when back"."""

    def __init__(self, pin_gate: PinGate | None) -> None:
        self._pin_gate = pin_gate
        self.devices: dict[i.DeviceName, DeviceStateView] = {}
        self.outbox: OutboxView | None = None
        self.log_lines: deque[str] = deque(maxlen=MAX_LOG_LINES)
        self.dropped_events = 0
        self.pin_message = ""
        self.self_tests: dict[i.DeviceName, SelfTestView] = {}

    def device_fault(self, event: i.DeviceFault) -> ev.Data | None:
        """Record a fault; the device.fault data to send, or None if already reported."""
        message = redact_text(event.message)[: ev.DEVICE_MESSAGE_MAX_CHARS]
        before = self.devices.get(event.device)
        self.devices[event.device] = DeviceStateView(
            event.device, False, event.kind, event.code or "", message
        )
        # A new kind or code is a new fault (the printer goes from paper out to cover open).
        if (
            before is None
            or before.ok
            or (before.kind, before.code) != (event.kind, event.code or "")
        ):
            return ev.device_fault(event.device, event.kind, event.code, message)
        return None

    def device_recovered(self, event: i.DeviceRecovered) -> ev.Data | None:
        """Record a recovery; the device.recovered data, or None if it was not known as down."""
        before = self.devices.get(event.device)
        self.devices[event.device] = DeviceStateView(event.device, True)
        if before is not None and not before.ok:
            return ev.device_recovered(event.device, event.down_s)
        return None

    def outbox_status(self, event: i.OutboxStatus) -> None:
        """Keep the agent's latest outbox report."""
        self.outbox = OutboxView(event.depth, event.oldest_age_s, event.broker_connected)

    def log_line(self, event: i.LogLine) -> None:
        """Keep one more log line, redacted again and capped."""
        self.log_lines.append(redact_text(event.text)[:MAX_LOG_LINE_CHARS])

    def self_test_started(self, device: i.DeviceName) -> None:
        """A self-test was asked for: the screen says it is running until the report comes."""
        self.self_tests[device] = SelfTestView(device, "running")

    def self_test_done(self, event: i.SelfTestDone, strings: Strings) -> None:
        """Keep a device's report as one line per check (details redacted again and capped)."""
        report = event.report
        verdicts = {
            True: strings.text("diagnostics.check.ok"),
            False: strings.text("diagnostics.check.failed"),
        }
        lines = tuple(
            f"{c.name}: {verdicts[c.ok]} {redact_text(c.detail)[:MAX_CHECK_DETAIL_CHARS]}".strip()
            for c in report.checks[:MAX_CHECKS_SHOWN]
        )
        status: Literal["passed", "failed"] = "passed" if report.ok else "failed"
        self.self_tests[report.device] = SelfTestView(report.device, status, lines)

    def check_pin(self, pin: str, strings: Strings) -> PinResult:
        """Verify a PIN through the gate; sets `pin_message` unless accepted."""
        if self._pin_gate is None:
            self.pin_message = strings.text("diagnostics.pin.disabled")
            return PinResult("disabled")
        result = self._pin_gate.verify(pin)
        if result.accepted:
            self.pin_message = ""
        elif result.status == "rejected":
            self.pin_message = strings.text("diagnostics.pin.wrong", remaining=result.remaining)
        elif result.status == "locked":
            seconds = int(-(-result.locked_for_s // 1))
            self.pin_message = strings.text("diagnostics.pin.locked", seconds=seconds)
        else:
            self.pin_message = strings.text("diagnostics.pin.disabled")
        return result

    def lockout_event(self, result: PinResult) -> ev.Data | None:
        """The technician.lockout data when `result` started a lockout, else None."""
        if result.lockout_level is None or self._pin_gate is None:
            return None
        failed = result.lockout_level * self._pin_gate.max_failures
        return ev.technician_lockout(result.lockout_level, result.locked_for_s, failed)

    def view(self, strings: Strings) -> DiagnosticsView:
        """The diagnostics view-model."""
        locked = self._pin_gate.locked_for_s() if self._pin_gate is not None else 0.0
        return render.diagnostics_view(
            strings,
            pin_message=self.pin_message,
            locked_for_s=locked,
            devices=self.devices.values(),
            outbox=self.outbox,
            log_lines=self.log_lines,
            dropped_events=self.dropped_events,
            self_tests=self.self_tests.values(),
        )

    def device_map(self) -> Mapping[i.DeviceName, DeviceStateView]:
        """Current device states by name."""
        return self.devices
