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
    p.notes["audit"] = results


TOURS: dict[str, tuple[Tour, dict[str, Any]]] = {
    "card_service_rating": (card_service_rating, {}),
    "qr_service": (qr_service, {}),
    "anonymous_bp": (anonymous_bp, {}),
    "idle_wipe": (idle_wipe, {"idle_timeout_s": 20, "countdown_s": 5}),
    "pin_lockout": (pin_lockout, {}),
    "restart_request": (restart_request, {}),
    "audit_all": (audit_all, {}),
}


def main() -> int:
    """Run one tour; the notes (or the failure) go to the JSON file."""
    name, data_dir, notes_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    tour, ui = TOURS[name]
    config = dev_like_config(data_dir, ui=ui)
    notes = run_scripted(config, tour)
    notes_path.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
