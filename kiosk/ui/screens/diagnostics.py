"""Technician diagnostics: device states and self-tests, camera preview, outbox and broker,
recent (already redacted) log lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from kivy.factory import Factory
from kivy.lang import Builder

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.views import DiagnosticsView, SelfTestView
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import KButton, KLabel

DEVICES: tuple[i.DeviceName, ...] = get_args(i.DeviceName)


class DiagnosticsScreen(KioskScreen):
    """Rebuilt when the diagnostics view-model changes; the preview runs only while shown."""

    state = State.DIAGNOSTICS
    _shown: object = None

    def on_enter(self, *_args: Any) -> None:
        self.ids.preview.start()

    def on_leave(self, *_args: Any) -> None:
        self.ids.preview.stop()

    def show(self, views: Any) -> None:
        view: DiagnosticsView = views.diagnostics
        key = (view, self.strings)
        if self._shown == key:
            return
        self._shown = key
        strings = self.strings
        devices = self.ids.devices
        devices.clear_widgets()
        states = {d.device: d for d in view.devices}
        tests = {t.device: t for t in view.self_tests}
        for name in DEVICES:
            row = Factory.DeviceRow()
            known = states.get(name)
            state_key = "unknown" if known is None else ("ok" if known.ok else known.kind)
            words = strings.text(f"diagnostics.state.{state_key}")
            detail = "" if known is None else " ".join(p for p in (known.code, known.message) if p)
            row.ids.name.text = strings.text(f"diagnostics.device.{name}")
            row.ids.name.tag = f"device_{name}"
            row.ids.state.text = f"{words} {detail}".strip()
            row.ids.self_test.tag = f"self_test_result_{name}"
            row.ids.self_test.text = self._self_test_text(tests.get(name))
            row.add_widget(self._test_button(name, measure=False))
            if name == "bp":  # a measurement only on this explicit request
                row.add_widget(self._test_button(name, measure=True))
            devices.add_widget(row)
        self.ids.outbox.text = self._outbox_text(view)
        logs = self.ids.logs
        logs.clear_widgets()
        for number, line in enumerate(reversed(view.log_lines)):
            logs.add_widget(KLabel(text=line, role="small", tag=f"log_{number}"))

    def _test_button(self, name: i.DeviceName, *, measure: bool) -> KButton:
        label = "diagnostics.self_test.measure" if measure else "diagnostics.self_test"
        tag = f"self_test_{name}_measure" if measure else f"self_test_{name}"
        button = KButton(text=self.strings.text(label), tag=tag)
        button.intent = i.RunSelfTest
        button.size_hint_x = 0.5
        button.bind(on_release=lambda _w: self.send(i.RunSelfTest(name, measure=measure)))
        return button

    def _self_test_text(self, test: SelfTestView | None) -> str:
        if test is None:
            return ""
        heading = self.strings.text(f"diagnostics.self_test.{test.status}")
        return "\n".join((heading, *test.lines))

    def _outbox_text(self, view: DiagnosticsView) -> str:
        strings, outbox = self.strings, view.outbox
        lines = []
        if outbox is not None:
            lines.append(strings.text("diagnostics.outbox", depth=outbox.depth))
            if outbox.oldest_age_s is not None:
                seconds = round(outbox.oldest_age_s)
                lines.append(strings.text("diagnostics.outbox.oldest", seconds=seconds))
            broker = "connected" if outbox.broker_connected else "disconnected"
            lines.append(strings.text(f"diagnostics.broker.{broker}"))
        if view.dropped_events:
            lines.append(strings.text("diagnostics.dropped", count=view.dropped_events))
        return "\n".join(lines)


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
