"""Flow outcomes as contract events: every event validates; identity only as a pseudonym."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from config.privacy import pseudonymise
from kiosk.core import events as ev
from kiosk.core import inputs as i
from kiosk.core.bp_classification import BpCategory
from kiosk.core.events import EventSinkError
from kiosk.core.machine import KioskInputError, State
from tests.kiosk_core.support import (
    CITY,
    GOOD_READING,
    ID_NUMBER,
    KEY,
    NAME,
    ContractSink,
    MemoryHistory,
    card,
    inputs,
    make_rig,
    rig_in,
)

SUBJECT = pseudonymise(ID_NUMBER, KEY, CITY)


def test_card_read_sends_the_pseudonym_never_the_number() -> None:
    """card.read carries the HMAC pseudonym and key id; the number and name appear nowhere."""
    rig = make_rig()
    rig.send(i.StartServices(), card())
    (data,) = rig.sink.of_type("card.read")
    assert data["subject"] == SUBJECT
    assert data["key_id"] == "1"
    text = repr(rig.sink.events)
    assert ID_NUMBER not in text
    assert NAME not in text


def _health(consent: bool | None) -> ContractSink:
    rig = make_rig(MemoryHistory())
    if consent is None:
        rig.send(i.StartHealth(), i.SkipIdentify())
    else:
        rig.send(i.StartHealth(), card(), i.GiveConsent() if consent else i.DeclineConsent())
    rig.send(i.StartMeasuring(), i.CuffPressure(150), GOOD_READING)
    return rig.sink


def test_bp_subject_only_when_identified_and_consenting() -> None:
    """bp.measured names the pseudonym only with consent; anonymous and declined have none."""
    consented = _health(True).of_type("bp.measured")[0]
    declined = _health(False).of_type("bp.measured")[0]
    anonymous = _health(None).of_type("bp.measured")[0]
    assert consented["subject"] == SUBJECT
    assert consented["observation"]["subject"]["identifier"]["value"] == SUBJECT
    assert consented["consent"] is True
    for data in (declined, anonymous):
        assert data["subject"] is None
        # FHIR vital-signs needs a subject (issue 10 item 18): the visit, never an identity
        for observation in (data["observation"], data["heart_rate"]):
            assert observation["subject"] == {
                "identifier": {
                    "system": "urn:civic-kiosk:anonymous-session",
                    "value": data["session_id"],
                },
                "display": "anonymous resident",
            }
        assert SUBJECT not in repr(data)
        assert data["consent"] is False


def test_bp_observation_is_fhir_shaped() -> None:
    """The observation has LOINC 85354-9 with systolic, diastolic and mean in mm[Hg]."""
    data = _health(None).of_type("bp.measured")[0]
    observation = data["observation"]
    assert observation["code"]["coding"][0]["code"] == "85354-9"
    codes = [c["code"]["coding"][0]["code"] for c in observation["component"]]
    assert codes == ["8480-6", "8462-4", "8478-0"]
    assert {c["valueQuantity"]["code"] for c in observation["component"]} == {"mm[Hg]"}
    assert data["heart_rate"]["code"]["coding"][0]["code"] == "8867-4"
    assert data["classification"] == "high_normal"


def test_device_error_measurement_has_no_observation() -> None:
    """A meter error is sent as outcome device_error with its key and no values."""
    rig = rig_in(State.HEALTH_MEASURING)
    rig.send(i.BpMeasured(None, None, None, None, "cuff_leak"))
    data = rig.sink.of_type("bp.measured")[-1]
    assert (data["outcome"], data["error_key"], data["observation"]) == (
        "device_error",
        "cuff_leak",
        None,
    )


def test_rating_carries_no_identity() -> None:
    """rating.submitted has the level, the fixed label and reason keys; no subject."""
    rig = make_rig()
    rig.send(i.StartServices(), card(), i.OpenItem("yb-001"), i.Finish())
    rig.send(i.SelectLevel(1), i.ToggleReason("hard_to_use"), i.SubmitRating())
    (data,) = rig.sink.of_type("rating.submitted")
    assert data == {
        "session_id": data["session_id"],
        "item_id": "yb-001",
        "level": 1,
        "label": "非常不满意",
        "reasons": ["hard_to_use"],
    }


def test_qr_event_has_kind_only() -> None:
    """qr.scanned says which kind of code from where, nothing else."""
    rig = make_rig()
    rig.send(i.QrShown("medical_insurance_code", 120, "camera"))
    (data,) = rig.sink.of_type("qr.scanned")
    assert set(data) == {"session_id", "source", "kind"}


def test_device_fault_logged_once_until_recovered() -> None:
    """Repeated faults of one kind send one device.fault; recovery sends one device.recovered."""
    rig = make_rig()
    fault = i.DeviceFault("idcard", "disconnected", None, "port /dev/ttyUSB0 gone")
    rig.send(fault, fault, fault, i.DeviceRecovered("idcard", 12.5), i.DeviceRecovered("idcard", 1))
    assert rig.sink.types() == ["device.fault", "device.recovered"]


def test_session_events_bracket_the_session() -> None:
    """A session starts with session.started and ends with session.ended (reason, duration)."""
    rig = make_rig()
    rig.send(i.StartServices(), i.SkipIdentify())
    rig.clock.advance(12.0)
    rig.send(i.Exit())
    assert rig.sink.types() == ["session.started", "session.ended"]
    ended = rig.sink.of_type("session.ended")[0]
    assert (ended["reason"], ended["duration_s"], ended["identified"]) == ("user_exit", 12.0, False)


class FullSink:
    """A sink whose outbox is full."""

    def put(self, event_type: str, data: ev.Data) -> None:
        """Always refuse."""
        raise EventSinkError("outbox full")


def test_full_outbox_never_blocks_the_resident_or_the_wipe() -> None:
    """With a refusing sink the flow still runs and wipes; diagnostics count the drops."""
    rig = make_rig()
    rig.session._sink = FullSink()
    rig.send(i.StartServices(), card(), i.OpenItem("yb-002"), i.Exit(), i.SkipRating())
    assert rig.session.state is State.ATTRACT
    assert rig.session.views.diagnostics.dropped_events == 4


def test_builders_validate_for_every_category() -> None:
    """bp_measured data validates for each classification value."""
    sink = ContractSink()
    for category in BpCategory:
        sink.put(
            "bp.measured",
            ev.bp_measured(
                "00000000-0000-4000-8000-000000000001",
                subject=None,
                consent=False,
                key_id="1",
                taken_at=datetime(2026, 1, 1, tzinfo=UTC),
                systolic=150,
                diastolic=95,
                pulse=None,
                mean=None,
                category=category,
                error_key=None,
                device_protocol="omron9030",
            ),
        )


@settings(max_examples=150, deadline=None)
@given(st.lists(inputs(), max_size=30), st.lists(st.floats(0, 90), max_size=5))
def test_any_input_sequence_produces_only_valid_events(
    events: list[i.Input], ticks: list[float]
) -> None:
    """Whatever residents and devices do, every produced event validates against the contract."""
    rig = make_rig(MemoryHistory())
    for n, event in enumerate(events):
        with contextlib.suppress(KioskInputError):
            rig.session.handle(event)
        if n < len(ticks):
            rig.tick(ticks[n])
    # ContractSink validates on put; reaching here means every event matched its schema
    text = repr(rig.sink.events)
    assert ID_NUMBER not in text


def test_session_ids_the_kiosk_mints_are_uuid7() -> None:
    """Every id the kiosk mints is UUIDv7 (contract decision 6), session ids included."""
    import uuid

    rig = make_rig()
    rig.send(i.StartServices(), card())
    (data,) = rig.sink.of_type("card.read")
    assert uuid.UUID(data["session_id"]).version == 7
