"""SW3 status table: successes, the no-card result, and typed faults with meanings."""

from __future__ import annotations

import pytest

from drivers.errors import DeviceFault
from drivers.idcard import status

FAULT_TABLE = [
    (0x10, status.HostFrameRejected),
    (0x11, status.HostFrameRejected),
    (0x21, status.HostFrameRejected),
    (0x23, status.SamAccessDenied),
    (0x24, status.SamInternalError),
    (0x31, status.CardAuthenticationFailed),
    (0x32, status.CardAuthenticationFailed),
    (0x33, status.CardAuthenticationFailed),
    (0x40, status.CardReadFailed),
    (0x41, status.CardReadFailed),
    (0x47, status.SamInternalError),
    (0x60, status.SamInternalError),
    (0x66, status.SamAccessDenied),
    (0x80, status.CardNotFound),
    (0x81, status.CardSelectFailed),
]


@pytest.mark.parametrize(("code", "cls"), FAULT_TABLE)
def test_each_fault_status_has_a_class_and_a_meaning(code: int, cls: type[DeviceFault]) -> None:
    """Every published fault code maps to its DeviceFault subclass with a plain meaning."""
    fault = status.fault_for(code)
    assert type(fault) is cls
    assert isinstance(fault, DeviceFault)
    assert fault.code == code
    assert fault.meaning == status.STATUS_MEANINGS[code]
    assert f"0x{code:02X}" in str(fault)


@pytest.mark.parametrize("code", [0x90, 0x91, 0x9F])
def test_success_statuses_are_not_faults(code: int) -> None:
    """Asking for the fault of a success code is a programming error."""
    with pytest.raises(ValueError, match="success"):
        status.fault_for(code)


def test_unknown_status_is_still_typed() -> None:
    """A code outside the table becomes UnknownStatus, keeping the code."""
    fault = status.fault_for(0x55)
    assert isinstance(fault, status.UnknownStatus)
    assert fault.code == 0x55


def test_misplaced_success_code_is_an_unexpected_status() -> None:
    """0x9F answering a status query is a typed fault, not a crash."""
    fault = status.fault_answering("status", 0x9F)
    assert isinstance(fault, status.UnexpectedStatus)
    assert "status" in fault.meaning
    assert isinstance(status.fault_answering("status", 0x60), status.SamInternalError)
