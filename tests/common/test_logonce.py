"""Log once when lost and once when back, whoever is reporting (broker or serial device)."""

from __future__ import annotations

import logging

from common.logonce import REASON_MAX_CHARS, LogOnce


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _logger(name: str) -> tuple[logging.Logger, _Lines]:
    logger = logging.getLogger(name)
    handler = _Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, handler


def test_link_state_logged_once_per_loss_and_recovery() -> None:
    """Many failed attempts give one 'unreachable' line and one 'reachable again' line."""
    logger, handler = _logger("test.linkstate")
    records = handler.lines
    state = LogOnce(logger, "broker")
    state.went_up()
    for _ in range(10):
        state.went_down("connection refused")
    state.went_up()
    state.went_up()
    assert len(records) == 3
    assert "unreachable" in records[1]
    assert "10 failed" in records[2]


def test_transitions_are_reported_as_news_once_each() -> None:
    """went_up/went_down return True only on a change, so listeners hear each change once."""
    logger, _ = _logger("test.linkstate.news")
    state = LogOnce(logger, "device /dev/ttyUSB0")
    assert state.went_up("port open") is True
    assert state.went_up("port open") is False
    assert state.went_down("read failed") is True
    assert state.went_down("open failed") is False
    assert state.went_up("port open") is True


def test_a_long_reason_is_cut() -> None:
    """A reason that quotes a peer cannot flood the log."""
    logger, handler = _logger("test.linkstate.cut")
    LogOnce(logger, "broker").went_down("x" * 10_000)
    assert len(handler.lines[0]) < REASON_MAX_CHARS + 60
