"""The UI process's runtime: the session with its real adapters, the devices, speech, requests.

Everything here runs on the Kivy main thread except `post`, which device workers call from their
own threads: it only schedules the input onto the main thread (`schedule`), never touches the
session. Kivy itself is not imported here; the app passes Clock-based callables in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from common.kiosk_agent import broker_connected
from config.catalogue import load_catalogue
from config.loader import ConfigError
from config.model import KioskConfig
from kiosk.core import inputs as i
from kiosk.core.machine import Command, KioskInputError, State
from kiosk.core.ports import NoPoints, PointsCall, run_points_call
from kiosk.core.remote_diagnostics import RemoteSelfTestRun
from kiosk.core.session import Listener, Step
from kiosk.core.views import Views
from kiosk.runtime.assembly import assemble, build_devices, current_activities, local_now
from kiosk.runtime.outbox_sink import OutboxSink
from kiosk.runtime.points_client import Answer, PointsClient, core_answer
from kiosk.runtime.requests import KioskRequest, RequestWatcher, write_diagnostics_result
from kiosk.runtime.resident_requests import ask_status
from kiosk.runtime.signups import take_signup_results
from kiosk.runtime.speech import Speaker

log = logging.getLogger(__name__)

OUTBOX_STATUS_EVERY_S = 5.0
MAX_LOG_LINES_PER_TICK = 20
CAMERA_STATES = frozenset({State.IDENTIFY, State.DIAGNOSTICS})
Schedule = Callable[[Callable[[], None]], None]


class OffsetClock:
    """`time.monotonic()` plus an offset the tests and the screenshot script may advance."""

    def __init__(self, base: Callable[[], float] = time.monotonic) -> None:
        self._base = base
        self.offset_s = 0.0

    def __call__(self) -> float:
        return self._base() + self.offset_s

    def advance(self, seconds: float) -> None:
        """Jump forward (e.g. past the idle timeout) without waiting."""
        self.offset_s += seconds


class _MainThreadStates:
    """Device states from worker threads reach the outbox on the main thread (one connection)."""

    def __init__(self, sink: OutboxSink, schedule: Schedule) -> None:
        self._sink = sink
        self._schedule = schedule

    def set_device_state(self, device: str, state: str) -> None:
        self._schedule(lambda: self._sink.set_device_state(device, state))


class KioskHost:
    """Owns the session and everything it talks to; the Kivy app only draws and forwards."""

    def __init__(
        self,
        config: KioskConfig,
        *,
        schedule: Schedule,
        clock: OffsetClock | None = None,
        wall_clock: Callable[[], datetime] = local_now,
        speaker: Speaker | None = None,
        log_source: Callable[[], list[str]] | None = None,
    ) -> None:
        self.config = config
        self._schedule = schedule
        self.clock = clock or OffsetClock()
        self.data_dir = config.paths.data_dir
        # The lockout must outlast a restart, so the PIN gate counts in wall-clock seconds.
        parts = assemble(
            config,
            clock=self.clock,
            wall_clock=wall_clock,
            pin_clock=lambda: time.time() + self.clock.offset_s,
        )
        self.parts = parts
        self.outbox = parts.outbox
        self.sink = parts.sink
        self.catalogue = parts.catalogue
        self.history = parts.history
        self.session = parts.session
        self.hub = build_devices(config, self.post, _MainThreadStates(self.sink, schedule))
        self.speaker = speaker or Speaker()
        self.requests = RequestWatcher(self.data_dir)
        self.calls = PointsClient(self.data_dir)  # online calls through the agent (docs/points.md)
        self._log_source = log_source
        self._last_outbox_status_s = float("-inf")
        self._remote_run: RemoteSelfTestRun | None = None
        self.on_restart: Callable[[], None] | None = None  # the app stops itself (exit code 0)
        # Called on the main thread with each input from a device worker, before the session
        # sees it (the bench times card → identified from here).
        self.posted_observers: list[Callable[[i.Input], None]] = []
        self.session.subscribe(self._after_step)

    # --- lifecycle ------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load what the first frame need not wait for (search keys, the camera's OpenCV);
        safe on a background thread."""
        self.catalogue.prepare_search()
        self.hub.warm_up()

    def start(self) -> None:
        """Start the device workers."""
        self.hub.start()

    def stop(self) -> None:
        """Stop devices and speech, close the files (idempotent enough for on_stop)."""
        self.speaker.stop()
        self.hub.stop()
        self.parts.close()

    # --- inputs ---------------------------------------------------------------------------

    def post(self, event: i.Input) -> None:
        """Any thread: queue `event` for the main thread."""
        self._schedule(lambda: self._handle_posted(event))

    def _handle_posted(self, event: i.Input) -> None:
        for observer in self.posted_observers:
            observer(event)
        self.handle(event)

    def handle(self, event: i.Input) -> Step | None:
        """Main thread: apply one input; a refused input is logged (never its values)."""
        if isinstance(event, i.SelfTestDone) and self._remote_run is not None:
            self._remote_run.add(event.report)
        try:
            return self.session.handle(event)
        except KioskInputError as exc:
            log.warning("input refused: %s", exc)
            return None

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(step, views)` after every step (the app redraws from it)."""
        self.session.subscribe(listener)

    @property
    def views(self) -> Views:
        """The current view-models."""
        return self.session.views

    def _after_step(self, step: Step, views: Views) -> None:
        for command in step.commands:
            if command is Command.PRINT:
                job = self.session.take_print_job()
                if job is not None:
                    self.hub.print_slip(job)
            elif command is Command.POINTS:
                call = self.session.take_points_call()
                if call is not None:
                    self.start_points_call(call)
            elif command is Command.CALL_REQUEST_STATUS:
                self._call_request_status()
            else:
                self.hub.execute(command)
        if step.state is not step.previous:
            self.hub.set_camera_active(step.state in CAMERA_STATES)
            if step.state is State.ATTRACT:
                self.speaker.stop()  # every return to the attract screen is a wipe

    def start_points_call(self, call: PointsCall) -> None:
        """Make one points call on its own thread (it blocks up to its expiry, 15 s + 3 s);
        the answer comes back to the main thread as a PointsAnswered input."""
        port = self.parts.points or NoPoints()

        def run() -> None:
            try:
                answer = run_points_call(port, call)
            except Exception as exc:  # noqa: BLE001 — a broken call must still answer the screen
                log.warning("points call failed: %s", type(exc).__name__)
                answer = core_answer(Answer(False, {}, "offline"))
            self.post(i.PointsAnswered(call.token, answer))

        threading.Thread(target=run, name=f"points-{call.method}", daemon=True).start()

    def _call_request_status(self) -> None:
        """requests.status off the UI thread (it waits up to 15 s); the answer is posted back."""
        call = self.session.take_status_call()
        if call is None:
            return
        threading.Thread(
            target=lambda: self.post(ask_status(self.calls, call)),
            name="requests-status",
            daemon=True,
        ).start()

    # --- the one-second clock ---------------------------------------------------------------

    def every_second(self) -> None:
        """Tick the session, act on agent requests, feed log lines and the outbox state."""
        self.handle(i.Tick(self.clock()))
        for request in self.requests.take():
            if self._act_on(request) == "stop":
                return  # the app is stopping: nothing more to feed
        self.take_signup_results()
        if self._log_source is not None:
            for line in self._log_source()[-MAX_LOG_LINES_PER_TICK:]:
                self.handle(i.LogLine(line))
        now = self.clock()
        self._finish_remote_run(now)
        if now - self._last_outbox_status_s >= OUTBOX_STATUS_EVERY_S:
            self._last_outbox_status_s = now
            self.report_outbox()

    def take_signup_results(self) -> None:
        """The city's answers the agent left: into the private store, then onto the screen."""
        store = self.parts.signups
        if store is not None and take_signup_results(self.data_dir, store):
            self.handle(i.SignupsUpdated())

    def _finish_remote_run(self, now_s: float) -> None:
        run = self._remote_run
        if run is None or not run.done(now_s):
            return
        self._remote_run = None
        try:
            write_diagnostics_result(self.data_dir, run.result())
        except OSError as exc:
            log.warning("diagnostics result not handed to the agent: %s", type(exc).__name__)

    def report_outbox(self) -> None:
        """Outbox depth, oldest age and the agent's broker link → diagnostics; kiosk alive."""
        try:
            self.outbox.report_kiosk_alive()
            status = i.OutboxStatus(
                depth=self.outbox.depth(),
                oldest_age_s=self.outbox.oldest_unsent_age_s(),
                broker_connected=broker_connected(self.data_dir),
            )
        except Exception as exc:  # noqa: BLE001 — a busy or broken outbox must not stop the UI
            log.warning("outbox status unavailable: %s", type(exc).__name__)
            return
        self.handle(status)

    def _act_on(self, request: KioskRequest) -> str:
        body: dict[str, Any] = request.body
        if request.kind == "restart_kiosk":
            log.info("restart requested by the city")
            self.handle(i.Wipe("kiosk_restart"))
            if self.on_restart is not None:
                self.on_restart()
            return "stop"
        if request.kind == "run_diagnostics":
            log.info("diagnostics requested by the city: running self-tests")
            command_id = body.get("command_id")
            self._remote_run = RemoteSelfTestRun(
                command_id if isinstance(command_id, str) else "",
                self.hub.configured_devices(),
                started_s=self.clock(),
            )
            for device in self._remote_run.devices:
                self.hub.self_test(device)  # never a measurement: nobody may be at the cuff
        elif request.kind == "reload_config" and body.get("kind") == "catalogue":
            try:
                self.catalogue.swap(load_catalogue(self.config.paths.catalogue))
            except (ConfigError, OSError) as exc:
                log.warning("new catalogue not loaded: %s", type(exc).__name__)
                return "failed"
            log.info("catalogue switched to version %s", self.catalogue.version)
        elif request.kind == "reload_config" and body.get("kind") == "activities":
            activities = current_activities(self.config)
            self.session.set_activities(activities)
            self.handle(i.SignupsUpdated())  # redraw with them
            log.info("activities switched to version %s", activities.version)
        else:
            log.info("request %s ignored by the kiosk", request.kind)
        return "done"
