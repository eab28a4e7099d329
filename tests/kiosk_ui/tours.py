"""Subprocess entry of the UI tests: run one named tour of the app by touches, write its notes.

Usage: python -m tests.kiosk_ui.tours NAME DATA_DIR NOTES.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from drivers.idcard.samples import SAMPLE_CARDS
from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.runtime import adapters
from kiosk.ui.scripted import dev_like_config, run_scripted

QR_TOKEN = "https://service.example/t/token-5c1e-94aa"
DETAIL_SCREENSHOT = "detail.png"  # in the data dir
KINSOKU_TEXT = (
    "请携带身份证原件，到一号窗口（综合窗口）办理。材料齐全的，当场办结；不齐全的，一次告知。"
)
RIGHT_PIN = "2580"
WRONG_PIN = "1234"
Tour = Callable[[Any], Iterator[Any]]


def first_item(p: Any) -> Iterator[Any]:
    """From the categories: open the first category and its first item (by touches)."""
    category = p.views.catalogue.categories[0].category_id
    yield from p.tap(f"category_{category}")
    yield p.until(lambda: p.views.catalogue.mode == "items", "items")
    yield from p.tap(f"item_{p.views.catalogue.items[0].item_id}")
    yield p.until(lambda: p.views.catalogue.mode == "detail", "detail")
    p.notes["item_title"] = p.find("detail_title").text


def card_service_rating(p: Any) -> Iterator[Any]:
    """Card → service item → rating submitted."""
    yield from p.tap("start_services")
    yield p.state(State.IDENTIFY)
    p.app.host.hub.simulator("idcard").control("insert resident")
    yield p.state(State.SERVICES)
    p.notes["greeting"] = p.find("services_greeting").text
    yield from first_item(p)
    yield from p.tap("finish")
    yield p.state(State.RATING)
    yield from p.tap("level_5")
    yield from p.tap("submit")
    yield p.state(State.ATTRACT)


def qr_service(p: Any) -> Iterator[Any]:
    """QR code → service item → exit (rating skipped)."""
    yield from p.tap("start_services")
    yield p.state(State.IDENTIFY)
    p.app.host.hub.simulator("qrscan").control(f"present {QR_TOKEN}")
    yield p.state(State.SERVICES)
    yield from first_item(p)
    yield from p.tap("exit")
    yield p.state(State.RATING)
    yield from p.tap("skip")
    yield p.state(State.ATTRACT)


def anonymous_bp(p: Any) -> Iterator[Any]:
    """Anonymous BP: a cuff error explained in words, retry, then a reading."""
    meter = p.app.host.hub.simulator("bp")
    meter.control("scenario cuff_error")
    yield from p.tap("start_health")
    yield p.state(State.IDENTIFY)
    yield from p.tap("skip")
    yield p.state(State.HEALTH_GUIDE)
    yield from p.tap("start_measuring")
    yield p.state(State.HEALTH_RESULT)
    p.notes["error_text"] = p.find("result_error_text").text
    meter.control("scenario normal")
    yield from p.tap("retry")
    yield p.state(State.HEALTH_GUIDE)
    yield from p.tap("start_measuring")
    yield p.state(State.HEALTH_MEASURING)
    yield p.state(State.HEALTH_RESULT)
    p.notes["values"] = p.find("result_values").text
    p.notes["category"] = p.find("result_category").text
    yield from p.tap("finish")
    yield p.state(State.RATING)
    yield from p.tap("skip")
    yield p.state(State.ATTRACT)


def idle_wipe(p: Any) -> Iterator[Any]:
    """Idle → countdown → 继续办理 resumes; idle again → countdown runs out → wipe."""
    host = p.app.host
    idle_s, countdown_s = host.session.settings.idle_timeout_s, host.session.settings.countdown_s
    yield from p.tap("start_services")
    yield from p.tap("skip")
    yield p.state(State.SERVICES)
    yield from first_item(p)
    for _ in range(2):
        host.clock.advance(idle_s + 1)
        host.every_second()
        yield p.state(State.COUNTDOWN)
        p.notes.setdefault("countdown", []).append(p.find("countdown_seconds").text)
        if len(p.notes["countdown"]) == 1:
            yield from p.tap("continue")
            yield p.state(State.SERVICES)
    host.clock.advance(countdown_s + 1)
    host.every_second()
    yield p.state(State.ATTRACT)
    views = host.views
    p.notes["after_wipe"] = {
        "catalogue_empty": views.catalogue.detail is None and not views.catalogue.greeting,
        "session_id_gone": views.rating.levels == (),
    }


def pin_lockout(p: Any) -> Iterator[Any]:
    """Hidden gesture, five wrong PINs → lockout; even the right PIN is refused while locked."""
    for _ in range(5):
        yield from p.tap_at(8, p.app.root.height - 8)
    yield p.state(State.DIAGNOSTICS_PIN)
    messages = []
    for pin in [WRONG_PIN] * 5 + [RIGHT_PIN]:
        for digit in pin:
            yield from p.tap(f"pin_{digit}")
        yield from p.tap("pin_ok")
        messages.append(p.find("pin_message_text").text)
    p.notes["messages"] = messages
    p.notes["state"] = p.views.state.name


TAP_ATTEMPTS = 3
TAP_CHECK_WAITS = 30  # two frames each


def self_tests(p: Any) -> Iterator[Any]:
    """Diagnostics: the ID reader and BP self-tests by touch; then a city-requested run."""
    for _ in range(5):
        yield from p.tap_at(8, p.app.root.height - 8)
    yield p.state(State.DIAGNOSTICS_PIN)
    for digit in RIGHT_PIN:
        yield from p.tap(f"pin_{digit}")
    yield from p.tap("pin_ok")
    yield p.state(State.DIAGNOSTICS)
    strings = p.app.host.session.strings
    finished = (
        strings.text("diagnostics.self_test.passed"),
        strings.text("diagnostics.self_test.failed"),
    )
    for device in ("idcard", "bp", "printer"):
        result_tag = f"self_test_result_{device}"
        before = p.find(result_tag).text
        for _attempt in range(TAP_ATTEMPTS):
            # Under heavy load the diagnostics scroll view can take a quick tap for the start
            # of a scroll; a tap that landed changes the result line to "running" at once.
            yield from p.tap(f"self_test_{device}")
            for _ in range(TAP_CHECK_WAITS):
                if p.find(result_tag).text != before:
                    break
                yield p.frames(2)
            if p.find(result_tag).text != before:
                break
        yield p.until(
            lambda tag=result_tag: p.find(tag).text.startswith(finished),
            f"{device} self-test result",
        )
        p.notes[device] = p.find(f"self_test_result_{device}").text
    requests = p.app.host.data_dir / "requests"
    requests.mkdir(parents=True, exist_ok=True)
    (requests / "run_diagnostics.json").write_text('{"command_id": "c-7"}', encoding="utf-8")
    answer = requests / "run_diagnostics.result.json"
    yield p.until(answer.exists, "the diagnostics result for the agent", timeout_s=30)
    p.notes["remote"] = json.loads(answer.read_text(encoding="utf-8"))


def restart_request(p: Any) -> Iterator[Any]:
    """The agent asks for a restart: the session is wiped and the app stops by itself."""
    yield from p.tap("start_services")
    yield p.state(State.IDENTIFY)
    requests = p.app.host.data_dir / "requests"
    requests.mkdir(parents=True, exist_ok=True)
    (requests / "restart_kiosk.json").write_text('{"command_id": "c-1"}', encoding="utf-8")
    p.notes["requested"] = True
    yield p.until(lambda: False, "the app to stop itself", timeout_s=15)


def audit_all(p: Any) -> Iterator[Any]:
    """Every screen in zh/en × normal/high contrast (the latter with large text), audited."""
    from kivy.core.window import Window

    from kiosk.ui.audit import audit

    host = p.app.host
    results: dict[str, list[list[str]]] = {}
    card = adapters.card_identity(SAMPLE_CARDS["resident"], read_ms=None, today=date.today())

    def check(label: str) -> Iterator[Any]:
        yield p.frames()
        screen = p.app.current_screen
        found = audit(screen, window_height=Window.height, window_bg=tuple(Window.clearcolor))
        key = f"{label}/{screen.name}/{mode}"
        results[key] = [[v.widget, v.rule, v.detail] for v in found]

    def setup(language: str, contrast: bool) -> None:
        host.handle(i.SetLanguage(language))  # type: ignore[arg-type]
        host.handle(i.SetHighContrast(contrast))
        host.handle(i.SetLargeText(contrast))

    from testbed.points import PointsDesk

    desk = PointsDesk(host.data_dir, balance=1000)
    for language, contrast in (("zh", False), ("en", False), ("zh", True), ("en", True)):
        mode = f"{language}-{'contrast-large' if contrast else 'normal'}"
        setup(language, contrast)
        yield from check("attract")
        host.handle(i.StartServices())
        yield from check("identify")
        host.handle(card)
        yield from check("categories")
        view = host.views.catalogue
        host.handle(i.SelectCategory(view.categories[0].category_id))
        yield from check("items")
        host.handle(i.OpenItem(host.views.catalogue.items[0].item_id))
        yield from check("detail")
        host.handle(i.PrintGuide())
        yield p.until(lambda: host.views.printing.status == "done", "guide printed")
        yield from check("detail-printed")
        host.handle(i.Back())
        host.handle(i.Search("ylbx"))
        p.app.current_screen.open_keyboard()
        yield from check("search-keyboard")
        p.app.current_screen.close_keyboard()
        host.handle(i.Finish())
        host.handle(i.SelectLevel(1))
        yield from check("rating-reasons")
        host.handle(i.SkipRating())
        setup(language, contrast)
        host.handle(i.StartActivities())
        host.handle(card)
        yield from check("activities")
        host.handle(i.SignUp(host.views.activities.activities[0].activity_id))
        yield from check("activities-signed-up")
        host.handle(i.CancelSignup(host.views.activities.signups[0].signup_id))
        host.handle(i.Exit())
        host.handle(i.SkipRating())
        setup(language, contrast)
        yield from audit_points(p, desk, card, check)
        setup(language, contrast)
        host.handle(i.StartHealth())
        host.handle(card)
        yield from check("consent")
        host.handle(i.GiveConsent())
        yield from check("guide")
        host.handle(i.StartMeasuring())
        yield p.until(lambda: host.views.health.cuff_pressure_mmhg is not None, "cuff")
        yield from check("measuring")
        yield p.state(State.HEALTH_RESULT)
        yield from check("result")
        host.handle(i.DeviceFault("printer", "fault", "0x460", "paper out"))
        host.handle(i.PrintBpSlip())
        yield from check("result-print-unavailable")
        host.handle(i.DeviceRecovered("printer", 1.0))
        host.handle(i.Finish())
        host.handle(i.SkipRating())
        setup(language, contrast)
        host.handle(i.StartServices())
        host.handle(i.SkipIdentify())
        host.clock.advance(host.session.settings.idle_timeout_s + 1)
        host.every_second()
        yield from check("countdown")
        host.handle(i.Continue())
        host.handle(i.Exit())
        setup(language, contrast)
        host.handle(i.TechnicianGesture())
        host.handle(i.PinEntered(WRONG_PIN))
        yield from check("pin")
        host.handle(i.PinEntered(RIGHT_PIN))
        yield from check("diagnostics")
        host.handle(i.Back())
    desk.close()
    p.notes["audit"] = results


def audit_points(p: Any, desk: Any, card: Any, check: Callable[[str], Iterator[Any]]) -> Any:
    """The points screen in each phase: overview, confirm, voucher, an error, please wait."""
    host = p.app.host
    host.handle(i.StartPoints())
    host.handle(card)
    yield p.until(lambda: host.views.points.phase == "overview", "the points overview")
    yield from check("points")
    host.handle(i.ChooseReward("haircut"))
    yield from check("points-confirm")
    host.handle(i.ConfirmRedeem())
    yield p.until(lambda: host.views.points.phase == "voucher", "the voucher")
    yield p.until(lambda: host.views.printing.status == "done", "the voucher printed")
    yield from check("points-voucher")
    desk.fail_next = ["offline"]
    host.handle(i.Back())
    yield p.until(lambda: host.views.points.phase == "error", "offline")
    yield from check("points-error")
    desk.hold.set()
    host.handle(i.PointsRetry())
    yield from check("points-wait")
    desk.hold.clear()
    yield p.until(lambda: host.views.points.phase == "overview", "the overview again")
    host.handle(i.Exit())
    host.handle(i.SkipRating())


class RecordingSpeaker:
    """Stands in for espeak-ng: records what would be said, and every stop."""

    available = True

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def say(self, text: str, language: str) -> None:
        """Record an utterance."""
        self.calls.append(["say", text, language])

    def stop(self) -> None:
        """Record a stop."""
        self.calls.append(["stop"])


def online_item(host: Any) -> tuple[str, str]:
    """(category id, item id) of the first item handled online (its detail shows a QR)."""
    for category in host.catalogue.categories("zh"):
        for item in host.catalogue.items(category.category_id, "zh"):
            detail = host.catalogue.detail(item.item_id, "zh")
            if detail is not None and detail.online_url:
                return category.category_id, item.item_id
    raise AssertionError("the catalogue has no online item")


def kinsoku_lines(width_chars: int) -> dict[str, Any]:
    """KINSOKU_TEXT laid out `width_chars` ideographs wide by a KLabel and by a plain Label."""
    from kivy.uix.label import Label

    from kiosk.ui.widgets import KLabel

    label = KLabel(text=KINSOKU_TEXT)
    label.texture_update()
    width = label._label.get_extents("字" * width_chars)[0] + 1
    label.width = width  # the kv rule makes text_size (width, None)
    label.texture_update()
    plain = Label(text=KINSOKU_TEXT, font_size=label.font_size, text_size=(width, None))
    plain.texture_update()

    def lines(core: Any) -> list[str]:
        return ["".join(w.text for w in line.words) for line in core._cached_lines]

    measure = label._label.get_extents
    return {
        "kinsoku": lines(label._label),
        "plain": lines(plain._label),
        "widths_ok": all(measure(line)[0] <= width for line in lines(label._label)),
    }


def voice_qr_kinsoku(p: Any) -> Iterator[Any]:
    """Voice mode on; identify → services → an online item's QR (screenshot) → exit → wipe;
    then Chinese text laid out at several widths."""
    host = p.app.host
    speaker = RecordingSpeaker()
    host.speaker = speaker
    entered: list[str] = []
    yield from p.tap("access_voice")
    yield p.until(lambda: host.views.accessibility.voice, "voice mode")
    p.notes["voice_on_speech"] = p.app.current_screen.speech_text()
    yield from p.tap("start_services")
    yield p.state(State.IDENTIFY)
    entered.append(p.app.current_screen.speech_text())
    yield from p.tap("skip")
    yield p.state(State.SERVICES)
    entered.append(p.app.current_screen.speech_text())
    category, item = online_item(host)
    yield from p.tap(f"category_{category}")
    yield p.until(lambda: p.views.catalogue.mode == "items", "items")
    yield from p.tap(f"item_{item}")
    yield p.until(lambda: p.views.catalogue.mode == "detail", "detail")
    p.notes["online_url"] = p.views.catalogue.detail.online_url
    qr = p.find("detail_qr")
    p.app.current_screen.ids.scroll.scroll_to(qr, padding=10, animate=False)
    yield from p.screenshot(host.data_dir / DETAIL_SCREENSHOT)
    yield from p.tap("exit")
    yield p.state(State.RATING)
    entered.append(p.app.current_screen.speech_text())
    p.notes["calls_before_wipe"] = len(speaker.calls)
    yield from p.tap("skip")
    yield p.state(State.ATTRACT)
    p.notes["entered_speech"] = entered
    p.notes["calls"] = speaker.calls
    p.notes["kinsoku"] = {str(n): kinsoku_lines(n) for n in range(4, 16)}
    p.notes["gl_samples"] = gl_samples()


def page_text(p: Any) -> str:
    """The text of the printer simulator's last page (cut) or of the page it is on."""
    simulator = p.app.host.hub.simulator("printer").simulator
    items = simulator.pages[-1] if simulator.pages else simulator.current_page
    return "\n".join("".join(r.text for r in it.runs) for it in items if hasattr(it, "runs"))


def print_slips(p: Any) -> Iterator[Any]:
    """A guide from the item detail, a BP slip after consent, then paper out: "at the counter"."""
    host = p.app.host
    printer = host.hub.simulator("printer")
    yield from p.tap("start_services")
    yield p.state(State.IDENTIFY)
    host.hub.simulator("idcard").control("insert resident")
    yield p.state(State.SERVICES)
    category, item = online_item(host)
    yield from p.tap(f"category_{category}")
    yield p.until(lambda: p.views.catalogue.mode == "items", "items")
    yield from p.tap(f"item_{item}")
    yield p.until(lambda: p.views.catalogue.mode == "detail", "detail")
    yield from p.tap("print_guide")
    p.notes["guide_printing"] = p.find("print_status").text
    yield p.until(lambda: p.views.printing.status == "done", "the guide printed")
    yield p.frames()
    p.notes["guide_done"] = p.find("print_status").text
    p.notes["guide_page"] = page_text(p)
    printer.control(f"png {host.data_dir / 'guide.png'}")
    yield from p.tap("exit")
    yield p.state(State.RATING)
    yield from p.tap("skip")
    yield p.state(State.ATTRACT)
    p.notes["after_wipe"] = [p.views.printing.text, p.views.printing.can_print_guide]
    yield from p.tap("start_health")
    yield p.state(State.IDENTIFY)
    host.hub.simulator("idcard").control("insert hkmotw_permit")  # another card: read at once
    yield p.state(State.HEALTH_CONSENT)
    yield from p.tap("agree")
    yield p.state(State.HEALTH_GUIDE)
    yield from p.tap("start_measuring")
    yield p.state(State.HEALTH_RESULT)
    yield from p.tap("print_slip")
    yield p.until(lambda: p.views.printing.status == "done", "the slip printed")
    yield p.frames()
    p.notes["bp_done"] = p.find("print_status").text
    p.notes["bp_page"] = page_text(p)
    printer.control(f"png {host.data_dir / 'bp.png'}")
    printer.control("paper_out")
    yield p.until(
        lambda: any(d.device == "printer" and not d.ok for d in p.views.diagnostics.devices),
        "the paper-out seen by the status poll",
        timeout_s=30,
    )
    yield from p.tap("print_slip")
    yield p.frames()
    p.notes["bp_unavailable"] = p.find("print_status").text
    printer.control("load_paper")
    yield p.until(
        lambda: all(d.ok for d in p.views.diagnostics.devices if d.device == "printer"),
        "the printer back",
        timeout_s=30,
    )
    yield from p.tap("finish")
    yield p.state(State.RATING)
    yield from p.tap("skip")
    yield p.state(State.ATTRACT)


EXAMPLE_ACTIVITIES = Path(__file__).resolve().parents[2] / "config" / "activities.example.yaml"


def city_answers(p: Any, signup_id: str, outcome: str, reason: str = "") -> None:
    """The city's activity_signup_result, run through the agent's real action (files only)."""
    from edge_agent.actions import Actions
    from edge_agent.commands import make_command

    args = {"signup_id": signup_id, "outcome": outcome, "reason": reason}
    command = make_command("activity_signup_result", "440300/dev-centre/dev-kiosk-01", args)
    result = Actions(p.app.host.data_dir, {}).run(command)
    assert result is not None
    assert result["status"] == "ok", result


def activities_signup(p: Any) -> Iterator[Any]:
    """Identify, sign up (waiting), the city confirms; a second one refused; print; cancel;
    the next resident sees none of it."""
    host = p.app.host
    yield from p.tap("start_activities")
    yield p.state(State.IDENTIFY)
    host.hub.simulator("idcard").control("insert resident")
    yield p.state(State.ACTIVITIES)
    yield from p.tap("sign_up_tai-chi-1210")
    yield p.until(lambda: len(p.views.activities.signups) == 1, "the sign-up")
    first = p.views.activities.signups[0].signup_id
    yield p.frames()
    p.notes["pending"] = p.find(f"signup_state_{first}").text
    p.notes["notice"] = p.find("activities_notice").text
    city_answers(p, first, "confirmed")
    host.every_second()
    yield p.until(lambda: p.views.activities.signups[0].state == "confirmed", "confirmed")
    yield p.frames()
    p.notes["confirmed"] = p.find(f"signup_state_{first}").text
    yield from p.tap("sign_up_phone-class-1212")
    yield p.until(lambda: len(p.views.activities.signups) == 2, "the second sign-up")
    second = next(s.signup_id for s in p.views.activities.signups if s.signup_id != first)
    city_answers(p, second, "refused", "名额已满")
    host.every_second()
    yield p.until(lambda: any(s.state == "refused" for s in p.views.activities.signups), "refused")
    yield p.frames()
    p.notes["refused"] = p.find(f"signup_state_{second}").text
    yield from p.tap(f"print_signup_{first}")
    yield p.until(lambda: p.views.printing.status == "done", "the slip printed")
    p.notes["slip"] = page_text(p)
    host.hub.simulator("printer").control(f"png {host.data_dir / 'signup.png'}")
    yield from p.tap(f"cancel_{first}")
    yield p.until(lambda: len(p.views.activities.signups) == 1, "cancelled")
    yield from p.tap("exit")
    yield p.state(State.RATING)
    yield from p.tap("skip")
    yield p.state(State.ATTRACT)
    p.notes["after_wipe"] = [len(p.views.activities.signups), p.views.activities.greeting]
    yield from p.tap("start_activities")
    yield p.state(State.IDENTIFY)
    host.hub.simulator("idcard").control("insert hkmotw_permit")
    yield p.state(State.ACTIVITIES)
    yield p.frames()
    p.notes["other_resident"] = len(p.views.activities.signups)
    yield from p.tap("exit")
    yield p.state(State.ATTRACT)


def points_redeem(p: Any) -> Iterator[Any]:
    """红色积分 by touches through the real client and call files (the desk answers as the agent
    and the city would): balance, entries, rewards; confirm; the answer lost (timeout) and
    "try again" with the same redemption_id; the voucher on screen and on paper; paper out;
    offline in plain words; nothing left after the wipe."""
    from kiosk.core.views import PointsView
    from testbed.points import PointsDesk

    host = p.app.host
    desk = PointsDesk(host.data_dir, balance=120)
    printer = host.hub.simulator("printer")
    speaker = RecordingSpeaker()
    host.speaker = speaker
    try:
        yield from p.tap("access_voice")
        yield p.until(lambda: host.views.accessibility.voice, "voice mode")
        yield from p.tap("start_points")
        yield p.state(State.IDENTIFY)
        host.hub.simulator("idcard").control("insert resident")
        yield p.state(State.POINTS)
        yield p.until(lambda: p.views.points.phase == "overview", "the overview")
        yield p.frames()
        p.notes["balance"] = p.find("points_balance").text
        p.notes["statuses"] = {
            r: p.find(f"reward_status_{r}").text for r in ("haircut", "rice", "oil")
        }
        p.notes["entries"] = len(p.views.points.entries)
        yield from p.tap("reward_haircut")
        yield p.until(lambda: p.views.points.phase == "confirm", "the confirm step")
        yield p.frames()
        p.notes["confirm"] = [p.find("confirm_price").text, p.find("confirm_balance_after").text]
        desk.lose_next_redeem = 1
        yield from p.tap("confirm_redeem")
        yield p.until(lambda: p.views.points.phase == "error", "the lost answer", timeout_s=30)
        yield p.frames()
        p.notes["timeout_words"] = p.find("points_notice_text").text
        yield from p.tap("retry")
        yield p.until(lambda: p.views.points.phase == "voucher", "the voucher", timeout_s=30)
        yield p.until(lambda: p.views.printing.status == "done", "the voucher printed")
        yield p.frames()
        p.notes["voucher_code"] = p.find("voucher_code").text
        p.notes["spoken"] = [c[1] for c in speaker.calls if c[0] == "say"]
        p.notes["voucher_balance"] = p.find("voucher_balance_after").text
        p.notes["slip"] = page_text(p)
        printer.control(f"png {host.data_dir / 'voucher.png'}")
        redeems = [c["params"] for c in desk.calls if c["method"] == "points.redeem"]
        p.notes["redemption_ids"] = [c["redemption_id"] for c in redeems]
        p.notes["call_ids"] = [c["call_id"] for c in desk.calls if c["method"] == "points.redeem"]
        p.notes["spent"] = desk.spent
        printer.control("paper_out")
        yield p.until(
            lambda: any(d.device == "printer" and not d.ok for d in p.views.diagnostics.devices),
            "the paper-out seen by the status poll",
            timeout_s=30,
        )
        yield from p.tap("back")
        yield p.until(lambda: p.views.points.phase == "overview", "the overview again")
        yield p.frames()
        p.notes["balance_after"] = p.find("points_balance").text
        yield from p.tap("reward_haircut")
        yield p.until(lambda: p.views.points.phase == "confirm", "confirm again")
        yield from p.tap("confirm_redeem")
        yield p.until(lambda: p.views.points.phase == "voucher", "the second voucher")
        yield p.frames()
        p.notes["paper_out"] = [p.find("voucher_code").text, p.find("print_status_text").text]
        printer.control("load_paper")
        yield from p.tap("exit")
        yield p.state(State.RATING)
        yield from p.tap("skip")
        yield p.state(State.ATTRACT)
        p.notes["after_wipe"] = p.views.points == PointsView()
        desk.fail_next = ["offline"]
        yield from p.tap("start_points")
        yield p.state(State.IDENTIFY)
        host.hub.simulator("idcard").control("insert hkmotw_permit")  # another card: read at once
        yield p.state(State.POINTS)
        yield p.until(lambda: p.views.points.phase == "error", "offline")
        yield p.frames()
        p.notes["offline_words"] = p.find("points_notice_text").text
        yield from p.tap("retry")
        yield p.until(lambda: p.views.points.phase == "overview", "the overview after retry")
        p.notes["spent_total"] = desk.spent
        yield from p.tap("exit")
        yield p.state(State.ATTRACT)
    finally:
        desk.close()


CALLBACK_PHONE = "13912345678"


class CityOnFiles:
    """The agent and the city's responder for requests.status, as the call files (the real
    relay is tested in tests/kiosk_runtime/test_resident_requests.py): answers `mode`."""

    def __init__(self, data_dir: Path) -> None:
        from tests.kiosk_runtime.test_points_client import FakeAgent

        self.mode = "ok"
        self.known: list[dict[str, Any]] = []
        self.agent = FakeAgent(data_dir, self.reply)

    def reply(self, call: dict[str, Any]) -> dict[str, Any]:
        base = {
            "call_id": call["call_id"],
            "method": call["method"],
            "answered_at": call["issued_at"],
        }
        if self.mode == "offline":
            return {**base, "status": "error", "reason": "offline", "local": True}
        return {**base, "status": "ok", "data": {"requests": self.known}}


def requests_flow(p: Any) -> Iterator[Any]:
    """我要反映 by touches, voice on: identify, category, building and unit, a phrase and typed
    digits, a call-back phone (full while typed, masked after), review, submit, the ticket read
    aloud and printed; my requests from the city (one waiting still), then offline; the wipe."""
    host = p.app.host
    speaker = RecordingSpeaker()
    host.speaker = speaker
    city = CityOnFiles(host.data_dir)
    yield from p.tap("access_voice")
    yield p.until(lambda: host.views.accessibility.voice, "voice mode")
    yield from p.tap("start_requests")
    yield p.state(State.IDENTIFY)
    host.hub.simulator("idcard").control("insert resident")
    yield p.state(State.REQUESTS)
    yield from p.tap("request_new")
    yield from p.tap("request_category_repairs")
    yield from p.tap("request_building_0")
    yield from p.tap("request_unit_1")
    yield p.until(lambda: p.views.requests.step == "text", "the text step")
    yield from p.tap("request_phrase_0")
    yield from p.tap("request_keyboard")
    for key in "502":
        yield from p.tap(f"key_{key}")
    yield from p.tap("key_done")
    yield p.frames()
    p.notes["text"] = p.find("request_text").text
    yield from p.tap("request_next")
    yield p.until(lambda: p.views.requests.step == "phone", "the phone step")
    yield from p.tap("request_phone_yes")
    for digit in CALLBACK_PHONE:
        yield from p.tap(f"phone_key_{digit}")
    yield p.frames()
    p.notes["typing_shown"] = p.find("request_phone").text
    yield from p.tap("phone_key_done")
    yield p.frames()
    p.notes["masked_shown"] = p.find("request_phone").text
    yield from p.tap("request_next")
    yield p.until(lambda: p.views.requests.step == "review", "review")
    p.notes["review"] = [list(line) for line in p.views.requests.review]
    p.notes["review_speech"] = p.app.current_screen.speech_text()
    yield from p.tap("request_submit")
    yield p.until(lambda: p.views.requests.step == "ticket", "the ticket")
    p.notes["ticket"] = p.find("request_ticket").text
    p.notes["ticket_speech"] = p.app.current_screen.speech_text()
    yield from p.tap("print_request")
    yield p.until(lambda: p.views.printing.status == "done", "the ticket printed")
    p.notes["slip"] = page_text(p)
    host.hub.simulator("printer").control(f"png {host.data_dir / 'request-ticket.png'}")
    request_id = p.views.requests.mine[0].request_id if p.views.requests.mine else ""
    p.notes["request_id"] = request_id
    city.known = [
        {
            "request_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
            "ticket": "7K2MQ-9XD3F",
            "category": "sanitation",
            "state": "answered",
            "submitted_at": "2026-11-20T08:00:00.000Z",
            "updated_at": "2026-11-21T09:30:00.000Z",
            "answer": "已安排清运，谢谢反映。",
        }
    ]
    yield from p.tap("back")
    yield p.until(lambda: p.views.requests.step == "menu", "the menu")
    yield from p.tap("request_mine")
    yield p.until(lambda: p.views.requests.mine_phase == "ok", "the city's answer", timeout_s=20)
    p.notes["mine"] = [[m.ticket, m.state_text, m.answer] for m in p.views.requests.mine]
    city.mode = "offline"
    yield from p.tap("request_refresh")
    yield p.until(lambda: p.views.requests.mine_phase == "failed", "offline", timeout_s=20)
    yield p.frames()
    p.notes["offline"] = p.find("request_mine_status").text
    p.notes["offline_mine"] = [m.state for m in p.views.requests.mine]
    city.agent.close()
    yield from p.tap("exit")
    yield p.state(State.RATING)
    yield from p.tap("skip")
    yield p.state(State.ATTRACT)
    p.notes["after_wipe"] = [
        p.views.requests.step,
        p.views.requests.text,
        len(p.views.requests.mine),
    ]
    screen = p.app.manager.get_screen("requests")
    p.notes["widget_texts_after_wipe"] = [
        str(getattr(w, "text", "")) for w in screen.walk(restrict=True) if getattr(w, "text", "")
    ]
    p.notes["speech"] = [c[1] for c in speaker.calls if c[0] == "say"]


def requests_audit(p: Any) -> Iterator[Any]:
    """Every step of the requests screen, zh/en × normal/high contrast + large text."""
    from kivy.core.window import Window

    from kiosk.ui.audit import audit

    host = p.app.host
    results: dict[str, Any] = {}
    resident = adapters.card_identity(SAMPLE_CARDS["resident"], read_ms=None, today=date.today())
    city = CityOnFiles(host.data_dir)
    city.mode = "offline"

    def check(label: str) -> Iterator[Any]:
        yield p.frames()
        screen = p.app.current_screen
        found = audit(screen, window_height=Window.height, window_bg=tuple(Window.clearcolor))
        results[f"{label}/{screen.name}/{mode}"] = [[v.widget, v.rule, v.detail] for v in found]

    for language, contrast in (("zh", False), ("en", False), ("zh", True), ("en", True)):
        mode = f"{language}-{'contrast-large' if contrast else 'normal'}"
        host.handle(i.SetLanguage(language))  # type: ignore[arg-type]
        host.handle(i.SetHighContrast(contrast))
        host.handle(i.SetLargeText(contrast))
        yield from check("attract")
        host.handle(i.StartRequests())
        yield from check("identify")
        host.handle(i.SkipIdentify())
        yield from check("not-identified")
        host.handle(resident)
        yield from check("menu")
        host.handle(i.RequestGo("new"))
        yield from check("category")
        host.handle(i.ChooseRequestCategory("repairs"))
        host.handle(i.ChooseRequestLocation(0))
        yield from check("location-units")
        host.handle(i.ChooseRequestLocation(0, 0))
        host.handle(i.AddRequestPhrase(0))
        host.handle(i.EditRequestText("请回电 13812345678"))
        yield from check("text-refused")
        host.handle(i.EditRequestText("楼道灯坏了"))
        p.app.current_screen.open_keyboard()
        yield from check("text-keyboard")
        p.app.current_screen.close_keyboard()
        host.handle(i.RequestGo("next"))
        yield from check("phone")
        host.handle(i.RequestPhoneKey("edit"))
        for digit in "139":
            host.handle(i.RequestPhoneKey(digit))
        yield from check("phone-pad")
        host.handle(i.RequestPhoneKey("remove"))
        host.handle(i.RequestGo("next"))
        yield from check("review")
        host.handle(i.SubmitRequest())
        yield from check("ticket")
        host.handle(i.PrintRequestTicket())
        yield p.until(lambda: host.views.printing.status == "done", "printed")
        yield from check("ticket-printed")
        host.handle(i.Back())
        host.handle(i.RequestGo("mine"))
        yield from check("mine-asking")
        yield p.until(lambda: host.views.requests.mine_phase == "failed", "offline", timeout_s=20)
        yield from check("mine-failed")
        host.handle(i.Exit())
        host.handle(i.SkipRating())
    city.agent.close()
    p.notes["audit"] = results


def gl_samples() -> int:
    """Samples per pixel of the window's framebuffer (0 or 1: no multisampling)."""
    from kivy.graphics.opengl import GL_SAMPLES, glGetIntegerv

    return int(glGetIntegerv(GL_SAMPLES)[0])


TOURS: dict[str, tuple[Tour, dict[str, Any]]] = {
    "card_service_rating": (card_service_rating, {}),
    "qr_service": (qr_service, {}),
    "anonymous_bp": (anonymous_bp, {}),
    "idle_wipe": (idle_wipe, {"idle_timeout_s": 20, "countdown_s": 5}),
    "pin_lockout": (pin_lockout, {}),
    "restart_request": (restart_request, {}),
    "self_tests": (self_tests, {}),
    "audit_all": (audit_all, {}),
    "voice_qr_kinsoku": (voice_qr_kinsoku, {}),
    "print_slips": (print_slips, {}),
    "activities_signup": (activities_signup, {}),
    "points_redeem": (points_redeem, {}),
    "requests_flow": (requests_flow, {}),
    "requests_audit": (requests_audit, {}),
}


def main() -> int:
    """Run one tour; the notes (or the failure) go to the JSON file."""
    name, data_dir, notes_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    tour, ui = TOURS[name]
    config = dev_like_config(data_dir, ui=ui)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "activities.yaml").write_bytes(EXAMPLE_ACTIVITIES.read_bytes())  # as pushed
    notes = run_scripted(config, tour)
    notes_path.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
