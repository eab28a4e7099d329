"""`make screenshots`: every screen in zh and en → build/screenshots/{zh,en}/NN-name.png, and
what the simulated receipt printer printed → build/screenshots/printer/{slip}-{zh,en}.png.

Each language runs in its own process (the Kivy Window is a singleton) on an offscreen window,
with config/dev.yaml's simulated devices and a temporary data directory. The tour drives the
app by touches; cards, QR codes and BP measurements come from the simulators over real ptys.
A few past readings of the sample permit holder are seeded so the result shows a trend.

Usage: python -m scripts.screenshots [--language zh|en] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "screenshots"
LANGUAGES = ("zh", "en")
TREND_SEED = ((142, 92), (138, 88), (135, 86), (131, 84), (128, 83), (126, 80))
SEARCH_KEYS = ("Y", "L", "B", "X")


def seed_history(config: Any, card: str) -> None:
    """Past readings of a sample card holder, stored under the pseudonym only."""
    from config.privacy import load_pseudonym_key, pseudonymise
    from drivers.idcard.samples import SAMPLE_CARDS
    from kiosk.core.ports import StoredReading
    from kiosk.runtime.assembly import open_history

    key = load_pseudonym_key(config.privacy)
    subject = pseudonymise(SAMPLE_CARDS[card].id_number, key, config.identity.city)
    history = open_history(config)
    now = datetime.now(UTC)
    for days_ago, (systolic, diastolic) in zip(range(60, 0, -10), TREND_SEED, strict=False):
        history.add(subject, StoredReading(now - timedelta(days=days_ago), systolic, diastolic, 72))
    history.close()


def online_item(host: Any) -> tuple[str, str]:
    """(category id, item id) of the first catalogue item handled online (it shows a QR)."""
    language = host.views.accessibility.language
    for category in host.catalogue.categories(language):
        for item in host.catalogue.items(category.category_id, language):
            detail = host.catalogue.detail(item.item_id, language)
            if detail is not None and detail.online_url:
                return category.category_id, item.item_id
    raise RuntimeError("the catalogue has no online item")


class CityStandIn:
    """Answers the kiosk's requests.status call files as the agent would relay the city's answer
    (the screenshots run no broker): one answered request and one being handled."""

    def __init__(self, data_dir: Path) -> None:
        import threading

        self.data_dir = data_dir
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import json
        import time

        from common.kiosk_agent import answer_path, calls_dir, write_atomically

        items = [
            ("0193f1c2-7a4b-7c3d-8e5f-0123456789ab", "7K2MQ-9XD3F", "sanitation", "answered",
             "已安排清运，以后每天早上八点前清运。"),
            ("0193f1c2-7a4b-7c3d-8e5f-0123456789aa", "3HQ8T-M2W4K", "elderly_care", "assigned", ""),
        ]  # fmt: skip
        requests = [
            {"request_id": rid, "ticket": ticket, "category": category, "state": state,
             "submitted_at": "2026-11-20T08:00:00.000Z", "updated_at": "2026-11-21T09:30:00.000Z",
             **({"answer": answer} if answer else {})}
            for rid, ticket, category, state, answer in items
        ]  # fmt: skip
        while not self._stop.is_set():
            for path in calls_dir(self.data_dir).glob("*.call.json"):
                body = json.loads(path.read_text(encoding="utf-8"))
                path.unlink()
                answer = {
                    "call_id": body["call_id"],
                    "method": body["method"],
                    "status": "ok",
                    "answered_at": body["issued_at"],
                    "data": {"requests": requests},
                }
                write_atomically(answer_path(self.data_dir, body["call_id"]), answer)
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join(timeout=5)


class Tour:
    """The pilot script: every screen, in order, one screenshot each (`run` is the script)."""

    def __init__(self, out: Path, language: str = "zh") -> None:
        self.out = out
        self.language = language
        self.printer_out = out.parent / "printer"
        self._numbers = iter(range(1, 100))

    def slip(self, host: Any, name: str) -> None:
        """The printer simulator's last page as printer/NAME-LANGUAGE.png."""
        self.printer_out.mkdir(parents=True, exist_ok=True)
        host.hub.simulator("printer").control(
            f"png {self.printer_out / f'{name}-{self.language}.png'}"
        )

    def print_and_shoot(self, p: Any, button: str, name: str, slip: str) -> Iterator[Any]:
        """Press a print button, wait for the slip, screenshot the status, keep the slip."""
        host = p.app.host
        yield from p.tap(button)
        yield p.until(lambda: host.views.printing.status == "done", f"{slip} printed")
        yield from self.shot(p, name)
        self.slip(host, slip)

    def shot(self, p: Any, name: str) -> Iterator[Any]:
        """Screenshot as NN-name.png."""
        yield from p.screenshot(self.out / f"{next(self._numbers):02d}-{name}.png")

    def run(self, p: Any) -> Iterator[Any]:
        """All parts of the tour."""
        yield from self.services(p)
        yield from self.activities(p)
        yield from self.points(p)
        yield from self.requests(p)
        yield from self.health(p)
        yield from self.idle_and_technician(p)
        yield from self.accessibility(p)

    def services(self, p: Any) -> Iterator[Any]:
        """Attract, identify, catalogue (categories, items, QR detail, search), rating."""
        from kiosk.core.machine import State

        host = p.app.host
        yield from self.shot(p, "attract")
        yield from p.tap("start_services")
        yield p.state(State.IDENTIFY)
        yield from self.shot(p, "identify")
        host.hub.simulator("idcard").control("insert resident")
        yield p.state(State.SERVICES)
        yield from self.shot(p, "services-categories-greeting")
        category, item = online_item(host)
        yield from p.tap(f"category_{category}")
        yield p.until(lambda: host.views.catalogue.mode == "items", "items")
        yield from self.shot(p, "services-items")
        yield from p.tap(f"item_{item}")
        yield p.until(lambda: host.views.catalogue.mode == "detail", "detail")
        yield from self.shot(p, "service-detail-online-qr")
        yield from self.print_and_shoot(p, "print_guide", "service-detail-printed", "guide")
        yield from p.tap("back")
        yield from p.tap("back")
        yield from p.tap("search_field")
        for key in SEARCH_KEYS:
            yield from p.tap(f"key_{key}")
        yield p.until(lambda: host.views.catalogue.mode == "search", "search results")
        yield from self.shot(p, "services-search-keyboard")
        yield from p.tap("key_done")
        yield from p.tap("finish")
        yield p.state(State.RATING)
        yield from p.tap("level_2")
        yield from p.tap("reason_waited_too_long")
        yield from self.shot(p, "rating-with-reasons")
        yield from p.tap("submit")
        yield p.state(State.ATTRACT)

    def activities(self, p: Any) -> Iterator[Any]:
        """活动报名: the list, a sign-up waiting, the city's answer, the slip."""
        from edge_agent.actions import Actions
        from edge_agent.commands import make_command
        from kiosk.core.machine import State

        host = p.app.host
        yield from p.tap("start_activities")
        yield p.state(State.IDENTIFY)
        yield from p.tap("skip")
        yield p.state(State.ACTIVITIES)
        yield from self.shot(p, "activities-not-identified")
        host.hub.simulator("idcard").control("insert rare_name")  # not the card still on it
        yield p.until(lambda: host.views.activities.identified, "identified")
        activity = host.views.activities.activities[0].activity_id
        yield from p.tap(f"sign_up_{activity}")
        yield p.until(lambda: bool(host.views.activities.signups), "signed up")
        yield from self.shot(p, "activities-waiting-for-confirmation")
        signup_id = host.views.activities.signups[0].signup_id
        args = {"signup_id": signup_id, "outcome": "confirmed", "reason": ""}
        command = make_command("activity_signup_result", "440300/dev-centre/dev-kiosk-01", args)
        Actions(host.data_dir, {}).run(command)  # the agent's part: one file for the kiosk
        host.every_second()
        yield p.until(lambda: host.views.activities.signups[0].state == "confirmed", "confirmed")
        yield from self.print_and_shoot(
            p, f"print_signup_{signup_id}", "activities-confirmed-printed", "signup-slip"
        )
        yield from p.tap(f"cancel_{signup_id}")
        yield p.until(lambda: not host.views.activities.signups, "cancelled")
        yield from p.tap("exit")
        yield p.state(State.RATING)
        yield from p.tap("skip")
        yield p.state(State.ATTRACT)

    def points(self, p: Any) -> Iterator[Any]:
        """红色积分: please wait, the overview, confirm, a lost answer with try again, the
        voucher printed. The desk answers the call files as the agent and the city would."""
        from kiosk.core.machine import State
        from testbed.points import PointsDesk

        host = p.app.host
        desk = PointsDesk(host.data_dir, balance=120)
        try:
            yield from p.tap("start_points")
            yield p.state(State.IDENTIFY)
            yield from self.shot(p, "identify-points")
            desk.hold.set()
            host.hub.simulator("idcard").control("insert resident")
            yield p.state(State.POINTS)
            yield from self.shot(p, "points-please-wait")
            desk.hold.clear()
            yield p.until(lambda: host.views.points.phase == "overview", "the overview")
            yield from self.shot(p, "points-overview")
            yield from p.tap("reward_haircut")
            yield p.until(lambda: host.views.points.phase == "confirm", "the confirm step")
            yield from self.shot(p, "points-confirm")
            desk.lose_next_redeem = 1
            yield from p.tap("confirm_redeem")
            yield p.until(lambda: host.views.points.phase == "error", "the lost answer")
            yield from self.shot(p, "points-timeout-try-again")
            yield from p.tap("retry")
            yield p.until(lambda: host.views.points.phase == "voucher", "the voucher")
            yield p.until(lambda: host.views.printing.status == "done", "voucher printed")
            yield from self.shot(p, "points-voucher-printed")
            self.slip(host, "points-voucher")
            yield from p.tap("exit")
            yield p.state(State.RATING)
            yield from p.tap("skip")
            yield p.state(State.ATTRACT)
        finally:
            desk.close()

    def requests(self, p: Any) -> Iterator[Any]:
        """我要反映: category, where, phrases, the call-back phone masked, review, the ticket
        (printed), my requests as the city answers them (a stand-in for agent and city)."""
        from kiosk.core.machine import State

        host = p.app.host
        city = CityStandIn(host.data_dir)
        yield from p.tap("start_requests")
        yield p.state(State.IDENTIFY)
        # the points tour left the resident's card on the reader: another card reads again
        host.hub.simulator("idcard").control("insert rare_name")
        yield p.state(State.REQUESTS)
        yield from self.shot(p, "requests-menu")
        yield from p.tap("request_new")
        yield from self.shot(p, "requests-category")
        yield from p.tap("request_category_repairs")
        yield from p.tap("request_building_1")
        yield from self.shot(p, "requests-location-units")
        yield from p.tap("request_unit_2")
        yield from p.tap("request_phrase_0")
        yield from p.tap("request_phrase_1")
        yield from self.shot(p, "requests-text-phrases")
        yield from p.tap("request_next")
        yield from p.tap("request_phone_yes")
        for digit in "13912345678":  # a made-up number; shown masked once typed
            yield from p.tap(f"phone_key_{digit}")
        yield from p.tap("phone_key_done")
        yield from self.shot(p, "requests-phone-masked")
        yield from p.tap("request_next")
        yield p.until(lambda: host.views.requests.step == "review", "review")
        yield from self.shot(p, "requests-review")
        yield from p.tap("request_submit")
        yield p.until(lambda: host.views.requests.step == "ticket", "ticket")
        yield from self.print_and_shoot(
            p, "print_request", "requests-ticket-printed", "request-ticket"
        )
        yield from p.tap("back")
        yield from p.tap("request_mine")
        yield p.until(lambda: host.views.requests.mine_phase == "ok", "the city's answer")
        yield from self.shot(p, "requests-mine")
        city.stop()
        yield from p.tap("exit")
        yield p.state(State.RATING)
        yield from p.tap("skip")
        yield p.state(State.ATTRACT)

    def health(self, p: Any) -> Iterator[Any]:
        """Identify for BP, consent, guide, measuring, result with trend, rating."""
        from kiosk.core.machine import State

        host = p.app.host
        yield from p.tap("start_health")
        yield p.state(State.IDENTIFY)
        yield from self.shot(p, "identify-health")
        host.hub.simulator("idcard").control("insert hkmotw_permit")
        yield p.state(State.HEALTH_CONSENT)
        yield from self.shot(p, "health-consent")
        yield from p.tap("agree")
        yield p.state(State.HEALTH_GUIDE)
        yield from self.shot(p, "health-guide")
        yield from p.tap("start_measuring")
        yield p.until(lambda: (host.views.health.cuff_pressure_mmhg or 0) > 100, "cuff pressure")
        yield from self.shot(p, "health-measuring")
        yield p.state(State.HEALTH_RESULT)
        yield from self.shot(p, "health-result-trend")
        yield from self.print_and_shoot(p, "print_slip", "health-result-printed", "bp-slip")
        printer = host.hub.simulator("printer")
        printer.control("paper_out")
        yield p.until(
            lambda: any(d.device == "printer" and not d.ok for d in host.views.diagnostics.devices),
            "paper out seen",
            timeout_s=30,
        )
        yield from p.tap("print_slip")
        yield p.until(lambda: host.views.printing.status == "unavailable", "print refused")
        yield from self.shot(p, "health-result-print-unavailable")
        printer.control("load_paper")
        yield from p.tap("finish")
        yield p.state(State.RATING)
        yield from self.shot(p, "rating")
        yield from p.tap("skip")
        yield p.state(State.ATTRACT)

    def idle_and_technician(self, p: Any) -> Iterator[Any]:
        """The idle countdown, then the hidden gesture, a wrong PIN and diagnostics."""
        from kiosk.core.machine import State

        host = p.app.host
        yield from p.tap("start_services")
        yield from p.tap("skip")
        yield p.state(State.SERVICES)
        host.clock.advance(host.session.settings.idle_timeout_s + 1)
        host.every_second()
        yield p.state(State.COUNTDOWN)
        yield from self.shot(p, "countdown")
        yield from p.tap("continue")
        yield from p.tap("exit")
        yield p.state(State.ATTRACT)
        for _ in range(5):
            yield from p.tap_at(10, p.app.root.height - 10)
        yield p.state(State.DIAGNOSTICS_PIN)
        for digit in "1111":
            yield from p.tap(f"pin_{digit}")
        yield from p.tap("pin_ok")
        yield p.until(lambda: bool(host.views.diagnostics.pin_message), "PIN message")
        yield from self.shot(p, "diagnostics-pin-wrong")
        for digit in "2580":
            yield from p.tap(f"pin_{digit}")
        yield from p.tap("pin_ok")
        yield p.state(State.DIAGNOSTICS)
        yield from self.shot(p, "diagnostics")
        yield from p.tap("back")
        yield p.state(State.ATTRACT)

    def accessibility(self, p: Any) -> Iterator[Any]:
        """High contrast with large text, on the attract screen and the catalogue."""
        from kiosk.core.machine import State

        yield from p.tap("access_contrast")
        yield from p.tap("access_large_text")
        yield from self.shot(p, "attract-high-contrast-large-text")
        yield from p.tap("start_services")
        yield from p.tap("skip")
        yield p.state(State.SERVICES)
        yield from self.shot(p, "services-high-contrast-large-text")
        yield from self.points_large(p)

    def points_large(self, p: Any) -> Iterator[Any]:
        """The points overview in high contrast with large text (the wipe reset both)."""
        from kiosk.core.machine import State
        from testbed.points import PointsDesk

        host = p.app.host
        yield from p.tap("exit")
        yield p.state(State.ATTRACT)
        yield from p.tap("access_contrast")
        yield from p.tap("access_large_text")
        desk = PointsDesk(host.data_dir, balance=120)
        try:
            yield from p.tap("start_points")
            yield p.state(State.IDENTIFY)
            host.hub.simulator("idcard").control("insert resident")
            yield p.until(lambda: host.views.points.phase == "overview", "the overview")
            yield from self.shot(p, "points-high-contrast-large-text")
        finally:
            desk.close()


def capture(language: str, out: Path) -> None:
    """Run the tour in this process for one language."""
    from kiosk.ui.scripted import dev_like_config, run_scripted

    with tempfile.TemporaryDirectory(prefix="kiosk-shots-") as data_dir:
        config = dev_like_config(Path(data_dir), ui={"language": language})
        seed_history(config, "hkmotw_permit")
        example = REPO / "config" / "activities.example.yaml"
        (Path(data_dir) / "activities.yaml").write_bytes(example.read_bytes())  # as if pushed
        for old in out.glob("*.png"):
            old.unlink()
        run_scripted(config, Tour(out, language).run)


def main() -> int:
    """Both languages, each in a child process; or one language here with --language."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=LANGUAGES)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.language:
        capture(args.language, args.out / args.language)
        return 0
    with tempfile.TemporaryDirectory(prefix="kiosk-home-") as kivy_home:
        env = {**os.environ, "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "offscreen")}
        env.update(KIVY_HOME=kivy_home, KIVY_NO_ARGS="1", KIVY_LOG_MODE="PYTHON")
        for language in LANGUAGES:
            argv = [sys.executable, "-m", "scripts.screenshots", "--language", language]
            argv += ["--out", str(args.out)]
            done = subprocess.run(argv, env=env, cwd=REPO, check=False)  # noqa: S603
            if done.returncode != 0:
                print(f"screenshots: {language} failed", file=sys.stderr)
                return done.returncode
            print(f"screenshots: {args.out / language}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
