"""Whole flows through the session, as the UI will drive them, checked on the view-models."""

from __future__ import annotations

from kiosk.core import inputs as i
from kiosk.core.machine import Command, State
from tests.kiosk_core.support import ID_NUMBER, NAME, MemoryHistory, card, make_rig, rig_in


def test_card_then_service_item_then_rating() -> None:
    """Card → masked greeting → category → item detail → 办结 → rating → back to attract."""
    rig = make_rig()
    assert rig.send(i.StartServices(), card()) is State.SERVICES
    views = rig.session.views
    assert views.catalogue.greeting == "张**，您好"
    assert views.identify.greeting == "张**，您好"
    rig.send(i.SelectCategory("housing_fund"))
    assert [s.item_id for s in rig.session.views.catalogue.items] == ["gjj-001"]
    rig.send(i.OpenItem("gjj-001"))
    catalogue = rig.session.views.catalogue
    assert catalogue.mode == "detail"
    assert catalogue.detail is not None
    assert catalogue.detail.materials == ("身份证", "银行卡")
    assert catalogue.handling_text == "请到窗口办理"
    assert rig.send(i.Finish()) is State.RATING
    rating = rig.session.views.rating
    assert [level.text for level in rating.levels] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    assert rating.reasons == ()
    assert not rating.can_submit
    assert rig.send(i.SelectLevel(5), i.SubmitRating()) is State.ATTRACT
    assert rig.sink.types()[-2:] == ["rating.submitted", "session.ended"]


def test_card_on_the_attract_screen_starts_a_services_session() -> None:
    """Laying a card on the reader at the attract screen identifies and opens the catalogue."""
    rig = make_rig()
    assert rig.send(card()) is State.SERVICES
    assert rig.sink.types() == ["session.started", "card.read"]


def test_qr_then_service() -> None:
    """A QR code identifies by kind only; the resident goes on to the catalogue."""
    rig = make_rig()
    rig.send(i.StartServices(), i.QrShown("e_social_security_card", 80, "scanner"))
    assert rig.session.state is State.SERVICES
    rig.send(i.Search("医保"), i.OpenItem("yb-002", "search"))
    assert rig.sink.of_type("service.selected")[0]["via"] == "search"


def test_search_back_and_no_results() -> None:
    """Search shows results or a no-results note; Back steps detail → list → categories."""
    rig = rig_in(State.SERVICES)
    rig.send(i.Search("没有这个"))
    assert rig.session.views.catalogue.no_results
    rig.send(i.Search("医保"), i.OpenItem("yb-001", "search"))
    modes = []
    for _ in range(2):
        rig.send(i.Back())
        modes.append(rig.session.views.catalogue.mode)
    assert modes == ["search", "categories"]


def test_exit_without_using_anything_skips_the_rating() -> None:
    """Leaving before any service was used wipes at once (no rating to give)."""
    rig = rig_in(State.SERVICES)
    assert rig.send(i.Exit()) is State.ATTRACT


def test_exit_after_a_service_shows_the_rating() -> None:
    """Leaving after opening an item shows the rating automatically; skip is always there."""
    rig = rig_in(State.SERVICES)
    rig.send(i.OpenItem("yb-001"))
    assert rig.send(i.Exit()) is State.RATING
    assert rig.send(i.SkipRating()) is State.ATTRACT
    assert not rig.sink.of_type("rating.submitted")


def test_reasons_only_for_the_two_lowest_levels() -> None:
    """Reasons appear for 不满意/非常不满意 and vanish when a higher level is chosen."""
    rig = rig_in(State.RATING)
    rig.send(i.SelectLevel(2), i.ToggleReason("waited_too_long"))
    assert next(r.selected for r in rig.session.views.rating.reasons)
    rig.send(i.SelectLevel(4))
    assert rig.session.views.rating.reasons == ()


def test_anonymous_bp_with_cuff_error_then_success() -> None:
    """Anonymous check: a cuff error is explained in words with a retry; then a result."""
    rig = make_rig()
    rig.send(i.StartHealth(), i.SkipIdentify())
    assert rig.session.state is State.HEALTH_GUIDE
    step = rig.session.handle(i.StartMeasuring())
    assert step.commands == (Command.START_BP,)
    rig.send(i.CuffPressure(120))
    assert rig.session.views.health.cuff_pressure_mmhg == 120
    rig.send(i.BpMeasured(None, None, None, None, "cuff_leak"))
    result = rig.session.views.health.result
    assert result is not None
    assert not result.ok
    assert "袖带" in result.error_text
    rig.send(i.Retry(), i.StartMeasuring(), i.BpMeasured(165, 102, 80, None, None))
    result = rig.session.views.health.result
    assert result is not None
    assert result.ok
    assert (result.category, result.category_text) == ("grade_2", "2级高血压（中度）")
    assert result.colour
    assert result.icon == "bp_grade_2"
    assert result.advice_text
    assert result.disclaimer
    assert rig.session.views.health.trend == ()


def test_identified_consenting_resident_sees_a_trend() -> None:
    """With consent, readings are kept under the pseudonym and shown as a trend next time."""
    history = MemoryHistory()
    for systolic in (150, 140):
        rig = make_rig(history)
        rig.send(i.StartHealth(), card(), i.GiveConsent(), i.StartMeasuring())
        rig.send(i.BpMeasured(systolic, 85, 70, None, None))
    trend = rig.session.views.health.trend
    assert [p.systolic for p in trend] == [150, 140]
    assert ID_NUMBER not in repr(history.readings)


def test_declining_consent_stores_nothing() -> None:
    """Without consent the reading is shown but not kept."""
    history = MemoryHistory()
    rig = make_rig(history)
    rig.send(i.StartHealth(), card(), i.DeclineConsent(), i.StartMeasuring())
    rig.send(i.BpMeasured(120, 70, 70, None, None))
    assert history.readings == {}
    assert rig.session.views.health.trend == ()


def test_cancelling_or_leaving_a_measurement_aborts_the_meter() -> None:
    """Leaving the measuring screen other than by a result tells the host to abort."""
    rig = rig_in(State.HEALTH_MEASURING)
    assert rig.session.handle(i.CancelMeasuring()).commands == (Command.ABORT_BP,)
    rig.send(i.StartMeasuring())
    assert Command.ABORT_BP in rig.session.handle(i.Wipe()).commands


def test_meter_disconnect_while_measuring_is_explained() -> None:
    """A BP device fault during measuring shows the result screen with plain words."""
    rig = rig_in(State.HEALTH_MEASURING)
    rig.send(i.DeviceFault("bp", "disconnected", None, "gone"))
    assert rig.session.state is State.HEALTH_RESULT
    result = rig.session.views.health.result
    assert result is not None
    assert result.error_key == "meter_unavailable"


def test_card_fault_prompts_in_plain_words() -> None:
    """A failed card read says what to do; unknown reasons get a generic prompt."""
    rig = rig_in(State.IDENTIFY)
    rig.send(i.CardReadFault("card_moved"))
    assert "移动" in rig.session.views.identify.problem
    rig.send(i.CardReadFault("sam_exploded"))
    assert rig.session.views.identify.problem


def test_second_card_mid_session_is_ignored() -> None:
    """One resident at a time: another card during an identified session changes nothing."""
    rig = make_rig()
    rig.send(card())
    rig.send(card("李四", "110105194912310029"))
    assert rig.session.views.catalogue.greeting == "张**，您好"
    assert len(rig.sink.of_type("card.read")) == 1


def test_language_and_large_text_switch_live_and_reset_at_wipe() -> None:
    """English renders every view in English; the next resident starts from the defaults."""
    rig = make_rig()
    rig.send(i.SetLanguage("en"), i.SetLargeText(True), i.StartServices(), card())
    views = rig.session.views
    assert views.catalogue.greeting == "Hello, 张**"
    assert views.accessibility.text_scale > 1.0
    assert views.catalogue.categories[0].title == "Medical"
    assert "November" in views.attract.date_text
    rig.send(i.Exit())
    assert rig.session.views.accessibility.language == "zh"
    assert not rig.session.views.accessibility.large_text


def test_countdown_view_counts_down() -> None:
    """The countdown shows whole seconds left and the message with them."""
    rig = rig_in(State.COUNTDOWN)
    rig.tick(5.5)
    countdown = rig.session.views.countdown
    assert countdown.remaining_s == 15
    assert "15" in countdown.message


def test_diagnostics_show_devices_outbox_and_redacted_logs() -> None:
    """Diagnostics list device states, the outbox, and log lines with ID numbers redacted."""
    rig = rig_in(State.DIAGNOSTICS)
    rig.send(
        i.DeviceFault("bp", "timeout", "E9", "no answer"),
        i.OutboxStatus(12, 30.0, False),
        i.LogLine(f"card {ID_NUMBER} for {NAME}"),
    )
    diagnostics = rig.session.views.diagnostics
    assert [(d.device, d.ok) for d in diagnostics.devices] == [("bp", False)]
    assert diagnostics.outbox is not None
    assert diagnostics.outbox.depth == 12
    assert ID_NUMBER not in diagnostics.log_lines[0]
    step = rig.session.handle(i.RunSelfTest("idcard"))
    assert step.commands == (Command.SELF_TEST_IDCARD,)
    assert rig.send(i.Exit()) is State.ATTRACT


def test_listeners_get_every_step() -> None:
    """Subscribers are called after each step with the new views."""
    rig = make_rig()
    seen: list[State] = []
    rig.session.subscribe(lambda step, views: seen.append(views.state))
    rig.send(i.StartHealth(), i.SkipIdentify())
    assert seen == [State.IDENTIFY, State.HEALTH_GUIDE]


def test_expired_card_still_identifies_with_a_notice() -> None:
    """An expired card is no reason to refuse a resident; the screen mentions it."""
    rig = make_rig()
    expired = i.CardIdentity("resident", NAME, ID_NUMBER, id_number_valid=True, card_expired=True)
    rig.send(i.StartServices(), expired)
    assert rig.session.state is State.SERVICES
    assert "有效期" in rig.session.views.catalogue.card_notice
    assert rig.sink.of_type("card.read")[0]["card_expired"] is True
