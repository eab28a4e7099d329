"""The device API against the simulator over real pseudo-terminals (no mocks)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from common.backoff import Backoff
from drivers.errors import DeviceDisconnected, DeviceTimeout
from drivers.idcard.card import CardType
from drivers.idcard.device import IdCardReader
from drivers.idcard.samples import SAMPLE_CARDS
from drivers.idcard.simulator import make_simulator
from drivers.simulation import PtySimulatorHost

READ_TIMEOUT_S = 3.0


class MaxJitter(random.Random):
    """Backoff jitter pinned to its ceiling, so the retry time is known."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def host() -> Iterator[PtySimulatorHost]:
    served = PtySimulatorHost(make_simulator("resident"))
    served.start()
    yield served
    served.stop()


@pytest.mark.parametrize(
    ("scenario", "key"),
    [
        ("resident", "resident"),
        ("hkmotw_permit", "hkmotw_permit"),
        ("foreign_pr_2017", "foreign_pr_2017"),
        ("foreign_pr_2023", "foreign_pr_2023"),
        ("rare_name", "rare_name"),
        ("checksum_corruption", "resident"),
        ("garbage_bursts", "resident"),
    ],
)
def test_full_read_over_a_pty(scenario: str, key: str) -> None:
    """read_card returns the simulated card, through corruption and line noise too."""
    with IdCardReader(f"sim://idcard?scenario={scenario}") as reader:
        card = reader.read_card(READ_TIMEOUT_S)
        assert card is not None
        expected = SAMPLE_CARDS[key]
        assert (card.card_type, card.id_number, card.name) == (
            expected.card_type,
            expected.id_number,
            expected.name,
        )
        assert card.photo == expected.photo
        if scenario == "garbage_bursts":
            assert reader.discarded_frames > 0


def test_status_and_sam_id() -> None:
    """status() and sam_id() work over the pty."""
    with IdCardReader("sim://idcard?scenario=resident") as reader:
        assert reader.status() == "ok"
        assert reader.sam_id() == "05.01-20240101-0000012345-0000067890"
        reader.reset()


def test_fingerprint_read() -> None:
    """With fingerprint=True the 30 10 read returns the fingerprint bytes."""
    with IdCardReader("sim://idcard?scenario=fingerprint", fingerprint=True) as reader:
        card = reader.read_card(READ_TIMEOUT_S)
    assert card is not None
    assert card.fingerprint == SAMPLE_CARDS["fingerprint"].fingerprint


def test_invalid_check_digit_is_read_and_flagged() -> None:
    """A card whose number fails the check is still read; it is only flagged not valid."""
    with IdCardReader("sim://idcard?scenario=invalid_check_digit") as reader:
        card = reader.read_card(READ_TIMEOUT_S)
    assert card is not None
    assert card.card_type is CardType.RESIDENT
    assert not card.id_number_valid


def test_no_card_returns_none_after_the_timeout() -> None:
    """An empty reader gives None once the timeout has passed, not an exception."""
    with IdCardReader("sim://idcard?scenario=absent") as reader:
        started = time.monotonic()
        assert reader.read_card(0.7) is None
        assert 0.6 <= time.monotonic() - started < 2.0


def test_slow_reader_still_reads() -> None:
    """Answers delayed by 0.4 s each still complete within the per-request timeouts."""
    with IdCardReader("sim://idcard?scenario=slow") as reader:
        started = time.monotonic()
        card = reader.read_card(READ_TIMEOUT_S)
        assert card is not None
        assert time.monotonic() - started >= 1.2


def test_slow_reader_beyond_the_request_timeout_times_out() -> None:
    """When answers come later than the request timeout allows, DeviceTimeout is raised."""
    with (
        IdCardReader("sim://idcard?scenario=slow", request_timeout_s=0.1) as reader,
        pytest.raises(DeviceTimeout),
    ):
        reader.read_card(READ_TIMEOUT_S)


def test_unplug_raises_then_replug_recovers(host: PtySimulatorHost) -> None:
    """Closing the pty master → DeviceDisconnected; after replug and backoff the next read works."""
    events: list[tuple[bool, str]] = []
    skew = [0.0]
    reader = IdCardReader(
        host.port_path,
        on_link_change=lambda connected, reason: events.append((connected, reason)),
        clock=lambda: time.monotonic() + skew[0],
        backoff=Backoff(base_s=1.0, cap_s=1.0, rng=MaxJitter()),
    )
    try:
        assert reader.read_card(READ_TIMEOUT_S) is not None
        host.unplug()
        with pytest.raises(DeviceDisconnected):
            reader.read_card(READ_TIMEOUT_S)
        host.replug()
        with pytest.raises(DeviceDisconnected, match="retry"):
            reader.read_card(READ_TIMEOUT_S)  # the backoff has not elapsed yet
        skew[0] += 1.0
        assert reader.read_card(READ_TIMEOUT_S) is not None
    finally:
        reader.close()
    assert [connected for connected, _ in events] == [True, False, True]


def test_simulated_unplug_after_a_read_and_recovery() -> None:
    """The unplug scenario drops the port after a read; the next call reconnects."""
    events: list[bool] = []
    with IdCardReader(
        "sim://idcard?scenario=unplug",
        on_link_change=lambda connected, _reason: events.append(connected),
        backoff=Backoff(base_s=0.0),
    ) as reader:
        assert reader.read_card(READ_TIMEOUT_S) is not None
        with pytest.raises(DeviceDisconnected):
            reader.read_card(READ_TIMEOUT_S)
        assert not reader.connected
        assert reader.read_card(READ_TIMEOUT_S) is not None
    assert events == [True, False, True]
