"""Tests of kiosk/core: the session state machine, flows, privacy, events, technician access."""
