"""The one exception tree of the drivers; each class also inherits the matching stdlib type."""

from __future__ import annotations


class DriverError(Exception):
    """Root of every error a driver raises."""


class FrameError(DriverError, ValueError):
    """Bytes that are not a valid frame; decoders return these as values, not raise them.

    `offset` is the stream position of the first discarded byte, `length` how many were dropped.
    """

    def __init__(self, reason: str, *, offset: int = 0, length: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.length = length

    def __repr__(self) -> str:
        return f"FrameError({self.reason!r}, offset={self.offset}, length={self.length})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrameError):
            return NotImplemented
        return (self.reason, self.offset, self.length) == (other.reason, other.offset, other.length)

    def __hash__(self) -> int:
        return hash((self.reason, self.offset, self.length))


class DeviceTimeout(DriverError, TimeoutError):
    """The device did not answer within the request's timeout."""


class DeviceDisconnected(DriverError, ConnectionError):
    """The port vanished (unplugged, closed) or could not be opened."""


class PortInUse(DeviceDisconnected):
    """Another program holds the port (ports are opened exclusively: usually the kiosk)."""


class DeviceFault(DriverError):
    """The device answered with an error status; `code` is the device's own code."""

    def __init__(self, code: int, meaning: str) -> None:
        super().__init__(f"device fault 0x{code:02X}: {meaning}")
        self.code = code
        self.meaning = meaning


class ProtocolMisuse(DriverError, RuntimeError):
    """The caller used a protocol object in a state that does not allow it (a bug, not a fault)."""
