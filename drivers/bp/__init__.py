"""Blood-pressure meters with pluggable protocols (SunTech OEM module, Omron HBP-9030).

`drivers.bp.device.BloodPressureMeter` is the API the kiosk uses; protocols are registered in
`drivers.bp.protocol.PROTOCOL_MODULES`. Importing this package does not open any port.
"""

from drivers.bp.events import BpResult, CuffPressure, DeviceAck
from drivers.bp.protocol import PROTOCOL_MODULES, get_protocol

__all__ = ["PROTOCOL_MODULES", "BpResult", "CuffPressure", "DeviceAck", "get_protocol"]
