"""What network scenarios share: a persistent broker, the city subscriber, the final tally."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chaos.city import City
from chaos.report import Result
from testbed.broker import MosquittoBroker

SETTLE_TIMEOUT_S = 60.0


@dataclass
class Stage:
    """A broker whose SIGTERM restarts keep queued messages, and the city subscribed to it."""

    workdir: Path
    broker: MosquittoBroker
    city: City


@contextmanager
def stage(workdir: Path) -> Iterator[Stage]:
    """Start Mosquitto (persistence on, as a city broker has it) and a persistent city."""
    store = workdir / "mosquitto-store"
    store.mkdir(parents=True, exist_ok=True)
    broker = MosquittoBroker(
        workdir=workdir / "mosquitto",
        extra_conf=f"persistence true\npersistence_location {store}/\nmax_connections -1\n",
    )
    broker.start()
    city = City(broker.host, broker.port)
    try:
        city.start()
        yield Stage(workdir, broker, city)
    finally:
        city.stop()
        broker.stop()


def tally(
    result: Result, city: City, offered: set[str], timeout_s: float = SETTLE_TIMEOUT_S
) -> None:
    """Wait for every offered id, then fill offered/delivered/lost/duplicated/conflicts."""
    city.wait_for(offered, timeout_s)
    result.offered = len(offered)
    result.delivered = city.seen(offered)
    result.lost = result.offered - result.delivered
    result.duplicated = city.duplicates(offered)
    result.conflicts = len(city.conflicts)
    if city.conflicts:
        result.problems.extend(city.conflicts[:3])


def recovery_after(city: City, kiosks: set[str], moment: float, timeout_s: float) -> float | None:
    """Seconds from `moment` until every kiosk in `kiosks` announced itself again (births)."""

    def back() -> bool:
        return kiosks <= {k for k, t in city.births if t > moment}

    if not city.wait_until(back, timeout_s):
        return None
    births = city.births_after(moment)
    return max(min(t for k, t in births if k == kiosk) for kiosk in kiosks) - moment


def now() -> float:
    """The monotonic clock the city stamps arrivals with."""
    return time.monotonic()
