"""Kiosk section of `make bench`: a soak of many sessions through the real core and outbox,
cold start to the first interactive frame, and card frame → identified screen latency.

The soak runs the real Session with the real catalogue, outbox (SQLite FULL) and history; the
agent's part is played by deleting delivered rows, so the outbox stays small as in the field.

Cold start (`kiosk.cold_start_s`): `python -m kiosk run` on an offscreen window with config/
dev.yaml's settings (simulated devices, data in a temp dir, the dev panel off as in the field,
bytecode compiled as deploy/install.sh does), from just before the process is spawned to the
first frame of the attract screen: the app writes time.monotonic() (one clock for all
processes) from its first `on_flip` after glFinish, when the event loop runs and touches are
dispatched (kiosk/ui/app.py, KIOSK_BENCH_FIRST_FRAME_FILE). Beside it, the same measure for a
bare Kivy window with one Label, and the ratio.

Card → identified (`kiosk.card_to_identified_ms`): in one app process (kiosk.ui.scripted), the
idcard simulator on its pty gets a card inserted while the identify screen shows. Start: the
moment the host's write that completes the read-card response frame returns (the last byte is
in the pty). End: glFinish in the first `on_flip` after the session is in SERVICES with a
greeting and the greeting label's texture was rebuilt for it. In between: the driver's read
and parse on the worker thread, the hand-off to the Kivy main thread (which wakes at most 60
times a second), the session step and the screen's layout and text rendering. Cards alternate,
so the worker reports each at once; between presentations the card is removed and the session
is ended through Exit (and the rating skipped), as a resident leaving. The first card after the
start is its own figure (`first_after_start`): it meets the warm-up thread and first textures.
Seen here (2 cores, llvmpipe): the main thread spends under 1 ms of CPU on that frame's text;
most of the time it waits off-CPU while replacing the greeting's texture, most likely for the
software renderer to finish the frames still using it, so a GPU and an idle machine shrink this
figure.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.runner import Figure
from config import config_from_data
from edge_agent.outbox import Outbox
from kiosk.core import inputs as i
from kiosk.core.machine import KioskInputError
from kiosk.runtime.assembly import assemble
from testbed.kivy_env import offscreen_kivy_env
from testbed.residents import synthetic_session

REPO = Path(__file__).resolve().parents[1]
SOAK_SESSIONS = 10_000
SOAK_SESSIONS_QUICK = 1_000
WARM_UP_FRACTION = 0.1
# The soak kiosk's own pseudonym key (a bench key, named by its key id like any city key).
SOAK_PRIVACY = {
    "pseudonym_key": "5be0c7a1d94f26e83b0a71c5d2e9f4a6b8c3d1e0f7a2b5c4d9e8f1a0b3c6d2e7",
    "pseudonym_key_id": "bench",
}

COLD_START_RUNS, COLD_START_RUNS_QUICK = 7, 3
CARD_PRESENTATIONS, CARD_PRESENTATIONS_QUICK = 20, 5
FIRST_FRAME_ENV = (
    "KIOSK_BENCH_FIRST_FRAME_FILE"  # kiosk.ui.app.BENCH_FIRST_FRAME_ENV (no kivy here)
)
FIRST_FRAME_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
POLL_S = 0.01  # how often the bench looks for the marker file; the time itself is in the file
LATENCY_RUN_TIMEOUT_S = 120.0
IDENTIFIED_TIMEOUT_S = 10.0
# Sample cards in turn: the worker reports a card again only after it was away for two polls.
BENCH_CARDS = ("resident", "rare_name", "hkmotw_permit", "foreign_pr_2023")
READ_RESPONSE_MIN_BYTES = 256  # the text block alone is 256 bytes: only a read answer is longer
DEV_CONFIG = REPO / "config" / "dev.yaml"
# The baseline: a bare Kivy window (same size) with one Label and the same first-frame mark.
BASELINE_SOURCE = """
import os, time
from kivy.config import Config
Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "720")
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics.opengl import glFinish
from kivy.uix.label import Label

class Bare(App):
    def build(self):
        Window.bind(on_flip=self.first_frame)
        return Label(text="baseline")

    def first_frame(self, window):
        window.unbind(on_flip=self.first_frame)
        glFinish()
        drawn = time.monotonic()
        with open(os.environ["KIOSK_BENCH_FIRST_FRAME_FILE"], "w") as out:
            out.write(repr(drawn) + "\\n")
        Clock.schedule_once(lambda _dt: self.stop(), 0)

Bare().run()
"""


def _soak(sessions: int) -> list[Figure]:
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as tmp:
        config = config_from_data(
            {
                "identity": {"city": "440300", "centre": "bench", "kiosk": "k1"},
                "paths": {"data_dir": tmp, "catalogue": str(REPO / "config" / "catalogue.yaml")},
                "privacy": SOAK_PRIVACY,
            },
            source="bench",
            base_dir=Path(tmp),
            env={},
        )
        clock = itertools.count(start=1000.0, step=0.5)
        kiosk = assemble(config, clock=lambda: float(next(clock)))
        outbox, session = kiosk.outbox, kiosk.session
        categories = [c.category_id for c in kiosk.catalogue.categories("zh")]
        warm_up = max(1, int(sessions * WARM_UP_FRACTION))
        rss_after_warm_up = 0
        rejected = 0
        started = time.perf_counter()
        for n in range(sessions):
            for event in synthetic_session(n, categories[n % len(categories)], health_every=3):
                try:
                    session.handle(event)
                except KioskInputError:
                    rejected += 1
            _drain(outbox)
            if n + 1 == warm_up:
                gc.collect()
                rss_after_warm_up = process.memory_info().rss
        elapsed = time.perf_counter() - started
        gc.collect()
        rss_end = process.memory_info().rss
        kiosk.close()
    growth = 100.0 * (rss_end - rss_after_warm_up) / rss_after_warm_up
    return [
        Figure("soak.sessions", sessions),
        Figure("soak.sessions_per_s", sessions / elapsed, "1/s", "core + SQLite FULL outbox"),
        Figure("soak.rss_after_warm_up_mb", rss_after_warm_up / 2**20, "MB"),
        Figure("soak.rss_end_mb", rss_end / 2**20, "MB"),
        Figure("soak.rss_growth_pct", growth, "%", f"after the first {warm_up} sessions"),
        Figure("soak.rejected_inputs", rejected, "", "must be 0"),
    ]


def _drain(outbox: Outbox) -> None:
    """Play the agent: delivered rows leave the outbox."""
    rows = outbox.peek(limit=1000)
    if rows:
        outbox.delete(row.rowid for row in rows)


# --- cold start -----------------------------------------------------------------------------


def _kivy_env(kivy_home: Path) -> dict[str, str]:
    return {**offscreen_kivy_env(kivy_home), "KIVY_NO_CONSOLELOG": "1"}


def _bench_config(data_dir: Path) -> dict[str, Any]:
    """config/dev.yaml with absolute paths, data in `data_dir`, no dev panel (as in the field)."""
    raw: dict[str, Any] = yaml.safe_load(DEV_CONFIG.read_text(encoding="utf-8"))
    raw["paths"] = {"data_dir": str(data_dir), "catalogue": str(REPO / "config/catalogue.yaml")}
    raw["ui"] = {**raw.get("ui", {}), "show_dev_panel": False, "fullscreen": False}
    return raw


def _first_frame_s(argv: list[str], env: dict[str, str], workdir: Path) -> float:
    """Seconds from spawning `argv` to the first frame it reports; the process is then stopped."""
    marker = workdir / "first-frame"
    marker.unlink(missing_ok=True)
    with (workdir / "stderr.log").open("w+b") as errors:
        spawned_s = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**env, FIRST_FRAME_ENV: str(marker)},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            drawn_s = _wait_for_marker(marker, process, spawned_s + FIRST_FRAME_TIMEOUT_S)
            if process.poll() is None:
                process.terminate()  # SIGTERM: the kiosk stops cleanly from its main loop
            process.wait(timeout=STOP_TIMEOUT_S)
        except BaseException:
            process.kill()
            process.wait()
            errors.seek(0)
            sys.stderr.write(errors.read()[-4000:].decode("utf-8", "replace"))
            raise
    return drawn_s - spawned_s


def _wait_for_marker(marker: Path, process: subprocess.Popen[bytes], deadline_s: float) -> float:
    while time.monotonic() < deadline_s:
        text = marker.read_text(encoding="ascii") if marker.exists() else ""
        if text.endswith("\n"):
            return float(text)
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before its first frame")
        time.sleep(POLL_S)
    raise TimeoutError("no first frame")


# The packages the kiosk process loads; deploy/install.sh compiles the same into __pycache__.
KIOSK_PACKAGES = ("common", "drivers", "edge_agent", "kiosk", "config")


def _compile_kiosk_packages() -> None:
    """As deploy/install.sh does on a kiosk, whose services never write bytecode: without it
    every start would compile the sources (make sets PYTHONDONTWRITEBYTECODE), which the
    baseline's site-packages never do."""
    argv = [sys.executable, "-m", "compileall", "-q", *(str(REPO / p) for p in KIOSK_PACKAGES)]
    subprocess.run(argv, check=True, capture_output=True)


def _cold_start(runs: int) -> list[Figure]:
    _compile_kiosk_packages()
    app_s: list[float] = []
    bare_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="kiosk-cold-") as tmp:
        work = Path(tmp)
        (work / "kivy").mkdir()
        config = work / "kiosk.yaml"
        config.write_text(yaml.safe_dump(_bench_config(work / "data"), allow_unicode=True))
        env = _kivy_env(work / "kivy")
        kiosk = [sys.executable, "-m", "kiosk", "run", "--config", str(config)]
        (work / "bare_kivy.py").write_text(BASELINE_SOURCE, encoding="utf-8")
        bare = [sys.executable, str(work / "bare_kivy.py")]  # a file: App looks for its .kv
        for _ in range(runs):  # interleaved, so drifting machine load hits both alike
            bare_s.append(_first_frame_s(bare, env, work))
            app_s.append(_first_frame_s(kiosk, env, work))
    app, baseline = statistics.median(app_s), statistics.median(bare_s)
    spread = f"median of {runs}, {min(app_s):.2f}–{max(app_s):.2f} s"
    return [
        Figure("kiosk.cold_start_s", app, "s", f"spawn → first attract frame; {spread}"),
        Figure("kiosk.cold_start_baseline_s", baseline, "s", "bare Kivy window + one Label"),
        Figure("kiosk.cold_start_ratio", app / baseline, "x", "kiosk / bare Kivy"),
    ]


# --- card frame → identified screen -------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (of 20 values, p99 is the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _card_latency(presentations: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="kiosk-card-") as tmp:
        work = Path(tmp)
        (work / "kivy").mkdir()
        out = work / "latency.json"
        argv = [sys.executable, "-m", "bench.kiosk_bench", "card-latency"]
        argv += [str(presentations + 1), str(work / "data"), str(out)]
        done = subprocess.run(
            argv,
            cwd=REPO,
            env=_kivy_env(work / "kivy"),
            capture_output=True,
            text=True,
            timeout=LATENCY_RUN_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"card latency run failed:\n{done.stderr[-4000:]}")
        result = json.loads(out.read_text(encoding="utf-8"))
    # The first card after the start meets the warm-up thread (pinyin keys, OpenCV) and the
    # screens' first textures: its own figure, outside the distribution a resident meets.
    first, *samples = result["latencies_ms"]
    drawing: list[float] = result["step_to_frame_ms"][1:]
    note = f"n={len(samples)}; read frame's last byte on the pty → identified frame drawn"
    return [
        Figure(
            "kiosk.card_to_identified_ms.first_after_start",
            first,
            "ms",
            "the first card, ~1 s after the first frame (warm-up thread still running)",
        ),
        Figure("kiosk.card_to_identified_ms.p50", _percentile(samples, 0.5), "ms", note),
        Figure("kiosk.card_to_identified_ms.p99", _percentile(samples, 0.99), "ms", note),
        Figure(
            "kiosk.card_to_identified_ms.step_to_frame_p50",
            _percentile(drawing, 0.5),
            "ms",
            "of it: the card input on the main thread → that frame drawn",
        ),
        Figure("kiosk.card_to_identified_masked", result["all_masked"], "", "greeting masked"),
    ]


class _CardProbe:
    """Times each presentation inside the app process (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        from kivy.core.window import Window

        from kiosk.core.machine import State

        self._app = app
        self._services = State.SERVICES
        self.sim = app.host.hub.simulator("idcard")
        screen = app.manager.get_screen(State.SERVICES.value)
        self._label = next(w for w in screen.walk() if getattr(w, "tag", "") == "services_greeting")
        self._label.bind(texture=self._on_texture)
        self._read_queued = False
        self._rendered = False
        self.read_written_s: float | None = None
        self.stepped_s: float | None = None
        self.drawn_s: float | None = None
        self.greetings: list[str] = []
        simulator = self.sim.simulator
        poll, write = simulator.poll, self.sim._write_to_driver

        def timed_poll(now_s: float) -> Any:
            out = poll(now_s)
            if len(out.data) >= READ_RESPONSE_MIN_BYTES:
                self._read_queued = True
            return out

        def timed_write(master: int) -> None:
            write(master)
            # the host keeps what the pty did not take; the frame is out when nothing is left
            if self._read_queued and not self.sim._outgoing:
                self._read_queued = False
                # the first read after arm(): the worker re-reads a card left on the reader
                if self.read_written_s is None:
                    self.read_written_s = time.monotonic()

        def observe_posted(event: Any) -> None:
            if self.stepped_s is None and type(event).__name__ == "CardIdentity":
                self.stepped_s = time.monotonic()  # on the main thread, before the step

        setattr(simulator, "poll", timed_poll)  # noqa: B010 — instance attributes, not methods
        setattr(self.sim, "_write_to_driver", timed_write)  # noqa: B010
        app.host.posted_observers.append(observe_posted)
        Window.bind(on_flip=self._on_flip)

    def arm(self) -> None:
        """Forget the last presentation; the next card read is timed."""
        self.read_written_s = self.stepped_s = self.drawn_s = None
        self._rendered = False

    def _on_texture(self, label: Any, texture: Any) -> None:
        greeting = self._app.host.views.catalogue.greeting
        if texture is not None and greeting and label.text == greeting:
            self._rendered = True

    def _on_flip(self, _window: Any) -> None:
        views = self._app.host.views
        if self.drawn_s is not None or not self._rendered or views.state is not self._services:
            return
        if self._app.manager.current != self._services.value:
            return
        from kivy.graphics.opengl import glFinish

        glFinish()
        self.drawn_s = time.monotonic()
        self.greetings.append(views.catalogue.greeting)

    def latency_ms(self) -> tuple[float, float]:
        """The last presentation: (read → identified frame, of which step → frame), in ms."""
        if self.read_written_s is None or self.stepped_s is None or self.drawn_s is None:
            raise RuntimeError("the read frame, the card input or the frame was not seen")
        return (self.drawn_s - self.read_written_s) * 1000, (self.drawn_s - self.stepped_s) * 1000


def _latency_script(presentations: int, result: dict[str, Any]) -> Any:
    from kiosk.core.machine import State

    def script(p: Any) -> Iterator[Any]:
        host = p.app.host
        probe = _CardProbe(p.app)
        samples: list[tuple[float, float]] = []
        for n in range(presentations):
            host.handle(i.StartServices())
            yield p.state(State.IDENTIFY)
            probe.arm()
            probe.sim.control(f"insert {BENCH_CARDS[n % len(BENCH_CARDS)]}")
            yield p.until(lambda: probe.drawn_s is not None, "identified", IDENTIFIED_TIMEOUT_S)
            samples.append(probe.latency_ms())
            probe.sim.control("remove")
            host.handle(i.Exit())
            if host.views.state is State.RATING:
                host.handle(i.SkipRating())
            yield p.state(State.ATTRACT)
        result["latencies_ms"] = [total for total, _ in samples]
        result["step_to_frame_ms"] = [drawing for _, drawing in samples]
        result["all_masked"] = all("*" in g for g in probe.greetings)

    return script


def card_latency_main(presentations: int, data_dir: Path, out: Path) -> int:
    """In a process of its own: run the app, time `presentations` cards, write the JSON."""
    from kiosk.ui.scripted import dev_like_config, run_scripted

    result: dict[str, Any] = {}
    run_scripted(dev_like_config(data_dir), _latency_script(presentations, result))
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def run(quick: bool) -> list[Figure]:
    """The kiosk figures."""
    figures = _soak(SOAK_SESSIONS_QUICK if quick else SOAK_SESSIONS)
    figures += _cold_start(COLD_START_RUNS_QUICK if quick else COLD_START_RUNS)
    figures += _card_latency(CARD_PRESENTATIONS_QUICK if quick else CARD_PRESENTATIONS)
    return figures


if __name__ == "__main__" and sys.argv[1:2] == ["card-latency"]:
    raise SystemExit(card_latency_main(int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])))
