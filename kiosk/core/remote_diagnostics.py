"""A city-requested diagnostics run: collect every configured device's self-test report, then
hand the result to the agent (which puts it in the command's `command.result` detail).

Pure: the host feeds reports and the time; a device that has not answered by the deadline is
listed as `missing` rather than holding the result back forever.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from common.selftest import SelfTestReport
from kiosk.core.inputs import DeviceName

REMOTE_SELF_TEST_TIMEOUT_S = 20.0  # a BP status query, a SAM round trip, a camera frame: seconds


class RemoteSelfTestRun:
    """One run for one command id."""

    def __init__(
        self,
        command_id: str,
        devices: Iterable[DeviceName],
        *,
        started_s: float,
        timeout_s: float = REMOTE_SELF_TEST_TIMEOUT_S,
    ) -> None:
        self.command_id = command_id
        self.devices: tuple[DeviceName, ...] = tuple(devices)
        self._deadline_s = started_s + timeout_s
        self._reports: dict[DeviceName, SelfTestReport] = {}

    def add(self, report: SelfTestReport) -> None:
        """Keep a report of one of the awaited devices (the first one counts)."""
        if report.device in self.devices and report.device not in self._reports:
            self._reports[report.device] = report

    def done(self, now_s: float) -> bool:
        """True once every device answered or the deadline passed."""
        return len(self._reports) == len(self.devices) or now_s >= self._deadline_s

    def result(self) -> dict[str, Any]:
        """The result the agent reads: reports in device order, the devices that did not answer."""
        return {
            "command_id": self.command_id,
            "devices": [self._reports[d].as_dict() for d in self.devices if d in self._reports],
            "missing": [d for d in self.devices if d not in self._reports],
        }
