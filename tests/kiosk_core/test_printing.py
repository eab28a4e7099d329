"""Printing in the core: a guide from the item detail, a BP slip for identified consenting
residents, the status in plain words, never blocking, nothing personal on paper but the masked
name, and all of it gone at the wipe."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core import inputs as i
from kiosk.core.machine import Command, InvalidInput, InvalidTransition, State
from kiosk.core.session import MAX_PRINTS_PER_SESSION, PRINT_TIMEOUT_S
from kiosk.core.settings import SessionSettings
from kiosk.core.slips import PrintJob
from tests.kiosk_core.support import (
    CITY,
    GOOD_READING,
    ID_NUMBER,
    NAME,
    Rig,
    card,
    inputs,
    make_rig,
)


def guide_rig() -> Rig:
    rig = make_rig()
    rig.send(i.StartServices(), card(), i.OpenItem("yb-002"))
    return rig


def print_job(rig: Rig, event: i.Input) -> PrintJob:
    step = rig.session.handle(event)
    assert Command.PRINT in step.commands
    job = rig.session.take_print_job()
    assert job is not None
    assert rig.session.take_print_job() is None  # taken once
    return job


def bp_rig(*, consent: bool = True) -> Rig:
    rig = make_rig()
    rig.send(i.StartHealth(), card())
    rig.send(i.GiveConsent() if consent else i.DeclineConsent(), i.StartMeasuring(), GOOD_READING)
    assert rig.session.state is State.HEALTH_RESULT
    return rig


def test_a_guide_holds_the_item_where_hours_materials_and_a_qr() -> None:
    """打印办事指南: the item, how/where/when, each material numbered, the online link as QR."""
    rig = guide_rig()
    assert rig.session.views.printing.can_print_guide
    job = print_job(rig, i.PrintGuide())
    assert job.kind == "guide"
    texts = [line.text for line in job.lines]
    assert texts[0] == "办事指南"
    assert "福田区政务服务中心" in [line.text for line in job.lines if line.kind == "centre"]
    assert "医保异地就医备案" in texts
    assert "国家医保服务平台" in texts
    assert "全天" in texts
    assert "1. 身份证" in texts
    assert "2. 备案表" in texts
    qr = [line for line in job.lines if line.kind == "qr"]
    assert [q.text for q in qr] == ["https://example.gov.cn/yb"]
    printing = rig.session.views.printing
    assert (printing.status, printing.kind) == ("printing", "guide")
    assert printing.text == "正在打印，请稍候"


def test_printing_never_blocks_and_the_result_shows_in_words() -> None:
    """While printing the resident goes on; done → take the slip; a failure → the counter."""
    rig = guide_rig()
    job = print_job(rig, i.PrintGuide())
    rig.send(i.Back())  # navigation works while the printer is busy
    assert rig.session.views.printing.status == "printing"
    rig.send(i.OpenItem("yb-002"), i.PrintFinished(job.job_id, "done"))
    assert rig.session.views.printing.text == "打印好了，请从出纸口取走凭条"
    job = print_job(rig, i.PrintGuide())
    rig.send(i.PrintFinished(job.job_id, "unavailable"))
    assert rig.session.views.printing.text == "打印机暂时不能用，请到服务台领取凭条"
    rig.send(i.SetLanguage("en"))
    assert "counter" in rig.session.views.printing.text


def test_a_second_press_while_printing_prints_nothing_more() -> None:
    """One slip at a time: pressing again while printing queues nothing."""
    rig = guide_rig()
    print_job(rig, i.PrintGuide())
    step = rig.session.handle(i.PrintGuide())
    assert Command.PRINT not in step.commands


def test_a_printer_known_down_says_so_at_once() -> None:
    """After a paper-out fault the button answers "ask at the counter" without a print job."""
    rig = guide_rig()
    rig.send(i.DeviceFault("printer", "fault", "0x460", "paper out"))
    step = rig.session.handle(i.PrintGuide())
    assert Command.PRINT not in step.commands
    assert rig.session.views.printing.status == "unavailable"
    rig.send(i.DeviceRecovered("printer", 12.0))
    assert Command.PRINT in rig.session.handle(i.PrintGuide()).commands


def test_no_answer_from_the_printer_times_out_to_the_counter() -> None:
    """A job the worker never finishes turns into "unavailable"; its late answer changes nothing."""
    rig = guide_rig()
    job = print_job(rig, i.PrintGuide())
    rig.tick(PRINT_TIMEOUT_S + 1)
    assert rig.session.views.printing.status == "unavailable"
    rig.send(i.PrintFinished(job.job_id, "done"))
    assert rig.session.views.printing.status == "unavailable"


def test_print_is_offered_only_on_the_detail_and_with_a_printer() -> None:
    """No printer configured: no button; outside the detail a PrintGuide is refused."""
    rig = make_rig(settings=SessionSettings(centre_name="c", city=CITY, has_printer=False))
    rig.send(i.StartServices(), i.SkipIdentify(), i.OpenItem("yb-001"))
    assert not rig.session.views.printing.can_print_guide
    rig.send(i.PrintGuide())
    assert rig.session.views.printing.status == "unavailable"
    rig = make_rig()
    rig.send(i.StartServices(), i.SkipIdentify())
    assert not rig.session.views.printing.can_print_guide
    try:
        rig.send(i.PrintGuide())
    except InvalidInput:
        pass
    else:
        raise AssertionError("a guide without an item was accepted")


def test_a_few_slips_per_resident() -> None:
    """The centre's paper: after MAX_PRINTS_PER_SESSION the button goes away."""
    rig = guide_rig()
    for _ in range(MAX_PRINTS_PER_SESSION):
        job = print_job(rig, i.PrintGuide())
        rig.send(i.PrintFinished(job.job_id, "done"))
    assert not rig.session.views.printing.can_print_guide


def test_bp_slip_masked_name_reading_class_and_date_only() -> None:
    """A BP slip: masked name, reading, guideline class, date; no ID, no pseudonym, no name."""
    rig = bp_rig()
    assert rig.session.views.printing.can_print_bp
    job = print_job(rig, i.PrintBpSlip())
    assert job.kind == "bp"
    fields = {line.text: line.value for line in job.lines if line.kind in ("field", "name")}
    assert fields["姓名"] == "张**"
    assert [line.text for line in job.lines if line.kind == "big"] == ["128/84 mmHg"]
    assert fields["脉搏"] == "72 次/分"
    assert fields["测量时间"].startswith("2026年11月23日")
    assert rig.session.views.health.result is not None
    assert rig.session.views.health.result.category_text in [line.text for line in job.lines]
    printed = json.dumps([line.__dict__ for line in job.lines], ensure_ascii=False)
    subject = rig.sink.of_type("card.read")[0]["subject"]
    for secret in (NAME, ID_NUMBER, subject, ID_NUMBER[-6:]):
        assert secret not in printed


def test_bp_slip_needs_identification_and_consent() -> None:
    """Anonymous or declined: no button, and the input is refused."""
    anonymous = make_rig()
    anonymous.send(i.StartHealth(), i.SkipIdentify(), i.StartMeasuring(), GOOD_READING)
    for rig in (bp_rig(consent=False), anonymous):
        assert not rig.session.views.printing.can_print_bp
        try:
            rig.send(i.PrintBpSlip())
        except InvalidInput:
            continue
        raise AssertionError("a slip without consent was accepted")


def test_print_inputs_only_where_offered() -> None:
    """PrintGuide belongs to the services screen, PrintBpSlip to the result."""
    rig = make_rig()
    for event in (i.PrintGuide(), i.PrintBpSlip()):
        try:
            rig.send(event)
        except InvalidTransition:
            continue
        raise AssertionError("print offered on the attract screen")


def test_the_wipe_forgets_the_status_and_a_late_answer() -> None:
    """Idle timeout: status gone; the old job's PrintFinished reaches nobody."""
    rig = bp_rig()
    job = print_job(rig, i.PrintBpSlip())
    rig.tick(rig.settings.idle_timeout_s)
    rig.tick(rig.settings.countdown_s)
    assert rig.session.state is State.ATTRACT
    assert rig.session.views.printing == type(rig.session.views.printing)()
    rig.send(i.StartHealth(), i.SkipIdentify(), i.PrintFinished(job.job_id, "done"))
    assert rig.session.views.printing.status is None
    assert rig.session.take_print_job() is None


@settings(max_examples=150, deadline=None)
@given(st.lists(inputs(), max_size=40))
def test_no_print_job_ever_holds_clear_personal_data(events: list[i.Input]) -> None:
    """Any input sequence: every job the core hands out holds neither the name nor the ID."""
    rig = make_rig()
    for event in events:
        try:
            rig.session.handle(event)
        except (InvalidInput, InvalidTransition):
            continue
        job = rig.session.take_print_job()
        if job is not None:
            printed = json.dumps([line.__dict__ for line in job.lines], ensure_ascii=False)
            assert NAME not in printed
            assert ID_NUMBER not in printed
