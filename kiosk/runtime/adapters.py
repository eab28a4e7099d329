"""Drivers' values → the core's inputs. Clear PII passes through once, to the core, never stored."""

from __future__ import annotations

from datetime import date

from drivers.bp.events import BpResult
from drivers.errors import DeviceDisconnected, DeviceFault, DeviceTimeout, DriverError
from drivers.idcard.card import IdCard
from drivers.idcard.status import CardAuthenticationFailed, CardReadFailed, CardSelectFailed
from drivers.qrscan.token import QrScanned
from kiosk.core import inputs as i

MESSAGE_MAX_CHARS = 200


def card_identity(card: IdCard, *, read_ms: float | None, today: date) -> i.CardIdentity:
    """The core's view of a card: type, name, number, validity, expiry."""
    expired: bool | None = None
    if card.valid_to.isdigit() and len(card.valid_to) == 8:
        expired = card.valid_to < today.strftime("%Y%m%d")
    elif card.valid_to == "长期":
        expired = False
    return i.CardIdentity(
        card_type=card.card_type.value,
        name=card.display_name,
        id_number=card.id_number,
        id_number_valid=card.id_number_valid,
        card_expired=expired,
        read_ms=read_ms,
    )


def card_fault(error: DriverError) -> i.CardReadFault:
    """A failed read of a placed card, as a reason key the core explains in plain words."""
    if isinstance(error, CardAuthenticationFailed):
        return i.CardReadFault("card_auth_failed")
    if isinstance(error, CardSelectFailed):
        return i.CardReadFault("card_moved")
    if isinstance(error, CardReadFailed):
        return i.CardReadFault("card_unreadable")
    return i.CardReadFault("reader_unavailable")


def qr_shown(scanned: QrScanned) -> i.QrShown:
    """Kind and length only: the token itself never reaches the core."""
    if scanned.source == "camera":
        return i.QrShown(kind=str(scanned.kind), length=scanned.length, source="camera")
    return i.QrShown(kind=str(scanned.kind), length=scanned.length, source="scanner")


def bp_measured(result: BpResult, protocol: str) -> i.BpMeasured:
    """A finished measurement; vitals are dropped when the meter reports an error."""
    if not result.ok:
        return i.BpMeasured(None, None, None, None, result.error_key or "device_error", protocol)
    return i.BpMeasured(
        result.systolic, result.diastolic, result.pulse, result.mean, None, protocol
    )


def device_fault(device: i.DeviceName, error: DriverError) -> i.DeviceFault:
    """A driver error as the core's DeviceFault; driver messages carry no PII."""
    if isinstance(error, DeviceDisconnected):
        return i.DeviceFault(device, "disconnected", None, str(error)[:MESSAGE_MAX_CHARS])
    if isinstance(error, DeviceTimeout):
        return i.DeviceFault(device, "timeout", None, str(error)[:MESSAGE_MAX_CHARS])
    code = f"0x{error.code:02X}" if isinstance(error, DeviceFault) else None
    return i.DeviceFault(device, "fault", code, str(error)[:MESSAGE_MAX_CHARS])
