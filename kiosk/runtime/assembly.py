"""The kiosk's one composition root: a config in, the session and everything it talks to out.

The UI host (kiosk/ui/host.py), the bench (bench/kiosk_bench.py), the chaos stand-in
(chaos/headless_kiosk.py) and the tests all build a kiosk here, so they run the same wiring: the
pseudonym key the config names, the technician PIN gate, the outbox limits from the agent's
config, the BP history in the kiosk user's private directory. What differs between them is
passed by name (clocks, an outbox subclass, no history, …), never by copying this code.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from common.kiosk_agent import activities_path
from config.activities import EMPTY as NO_ACTIVITIES
from config.activities import Activities, load_activities
from config.loader import ConfigError
from config.model import KioskConfig
from config.privacy import load_pseudonym_key
from edge_agent.outbox import Outbox
from edge_agent.outbox_config import open_outbox
from kiosk.core import inputs as i
from kiosk.core.ports import PointsPort, ReadingHistory
from kiosk.core.session import Session
from kiosk.core.settings import SessionSettings
from kiosk.runtime.catalogue import CatalogueAdapter
from kiosk.runtime.history import BpHistory
from kiosk.runtime.outbox_sink import OutboxSink
from kiosk.runtime.pin_store import make_pin_gate
from kiosk.runtime.points_client import PointsClient, PointsPortAdapter
from kiosk.runtime.resident_requests import REQUESTS_FILE, ResidentRequests
from kiosk.runtime.signups import SIGNUPS_FILE, Signups

if TYPE_CHECKING:
    from kiosk.runtime.devices import DeviceHub, DeviceStateSink

log = logging.getLogger(__name__)

HISTORY_FILE = "bp-history.sqlite3"
PRIVATE_DIR_MODE = 0o700  # the kiosk user only: the agent's user must not read the history
SQLITE_SIDE_FILES = ("", "-wal", "-shm")

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


def local_now() -> datetime:
    """The wall clock in the kiosk's time zone."""
    return datetime.now().astimezone()


@dataclass
class KioskParts:
    """A wired kiosk without devices or UI: what the session writes to and reads from."""

    config: KioskConfig
    session: Session
    outbox: Outbox
    sink: OutboxSink
    catalogue: CatalogueAdapter
    history: BpHistory | None
    clock: Clock
    signups: Signups | None = None
    points: PointsPort | None = None  # red points at the city, through the agent (online calls)
    requests: ResidentRequests | None = None

    def close(self) -> None:
        """Close the history, the sign-ups, the requests and the outbox files."""
        if self.history is not None:
            self.history.close()
        if self.signups is not None:
            self.signups.close()
        if self.requests is not None:
            self.requests.close()
        self.outbox.close()


def history_path(config: KioskConfig) -> Path:
    """Where the BP history lives: the kiosk user's private directory (issue 10 item 9)."""
    return config.paths.kiosk_private_dir / HISTORY_FILE


def prepare_private_dir(config: KioskConfig) -> Path:
    """Create the private directory with mode 0700 (tighten it if it is wider); returns it."""
    private = config.paths.kiosk_private_dir
    private.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if private.stat().st_mode & 0o077:
        os.chmod(private, PRIVATE_DIR_MODE)
    return private


def adopt_old_history(config: KioskConfig) -> None:
    """Move a history left in DATA_DIR by an older release into the private directory."""
    old = config.paths.data_dir / HISTORY_FILE
    new = history_path(config)
    if not old.exists() or new.exists() or old == new:
        return
    for suffix in SQLITE_SIDE_FILES:
        source = old.with_name(old.name + suffix)
        if source.exists():
            shutil.move(source, new.with_name(new.name + suffix))


def open_history(config: KioskConfig, *, wall_clock: WallClock = local_now) -> BpHistory:
    """The BP history in the private directory (created 0700; an old DATA_DIR file moved in)."""
    prepare_private_dir(config)
    adopt_old_history(config)
    return BpHistory(history_path(config), wall_clock=wall_clock)


def open_signups(config: KioskConfig, *, wall_clock: WallClock = local_now) -> Signups:
    """The residents' activity sign-ups, in the private directory next to the BP history."""
    prepare_private_dir(config)
    return Signups(config.paths.kiosk_private_dir / SIGNUPS_FILE, wall_clock=wall_clock)


def open_requests(config: KioskConfig, *, wall_clock: WallClock = local_now) -> ResidentRequests:
    """The requests (诉求) this kiosk filed, in the private directory (docs/requests.md)."""
    prepare_private_dir(config)
    return ResidentRequests(config.paths.kiosk_private_dir / REQUESTS_FILE, wall_clock=wall_clock)


def current_activities(config: KioskConfig) -> Activities:
    """The activities the city last pushed; none if the file is missing or does not load."""
    try:
        return load_activities(activities_path(config.paths.data_dir))
    except ConfigError as exc:
        log.warning("activities not loaded: %d problems", len(exc.problems))
        return NO_ACTIVITIES


def assemble(
    config: KioskConfig,
    *,
    clock: Clock = time.monotonic,
    wall_clock: WallClock = local_now,
    pin_clock: Clock = time.time,
    outbox_class: type[Outbox] = Outbox,
    with_history: bool = True,
    history: ReadingHistory | None = None,
    points: PointsPort | None = None,
) -> KioskParts:
    """Session, outbox sink, catalogue and history from `config`.

    `clock`/`wall_clock`: the session's monotonic and wall clocks (tests and the screenshot
    script jump them); `pin_clock`: wall-clock seconds for the PIN lockout, which must outlast
    a restart (persisted in the private directory); `outbox_class`: an Outbox subclass (the
    chaos stand-in reports each durable event); `with_history=False`: no BP history file (the
    session keeps none); `history`: another ReadingHistory instead of the file; `points`:
    another PointsPort than the online calls through the agent (DATA_DIR/calls/).
    """
    config.paths.data_dir.mkdir(parents=True, exist_ok=True)
    key = load_pseudonym_key(config.privacy)  # before any file is opened: a bad key stops here
    catalogue = CatalogueAdapter.from_file(config.paths.catalogue)
    outbox = open_outbox(config, cls=outbox_class)
    owned: BpHistory | None = None
    signups: Signups | None = None
    requests: ResidentRequests | None = None
    try:
        if history is None and with_history:
            owned = open_history(config, wall_clock=wall_clock)
            signups = open_signups(config, wall_clock=wall_clock)
            if config.requests is not None:
                requests = open_requests(config, wall_clock=wall_clock)
        sink = OutboxSink(outbox)
        session = Session(
            SessionSettings.from_config(config),
            sink=sink,
            catalogue=catalogue,
            pseudonym_key=key,
            clock=clock,
            wall_clock=wall_clock,
            history=history if history is not None else owned,
            pin_gate=make_pin_gate(config, pin_clock),
            signups=signups,
            activities=current_activities(config),
            requests=config.requests,
            request_store=requests,
        )
    except BaseException:
        if owned is not None:
            owned.close()
        if signups is not None:
            signups.close()
        if requests is not None:
            requests.close()
        outbox.close()
        raise
    if points is None:
        points = PointsPortAdapter(PointsClient(config.paths.data_dir))
    return KioskParts(
        config, session, outbox, sink, catalogue, owned, clock, signups, points, requests
    )


def build_devices(
    config: KioskConfig, post: Callable[[i.Input], None], states: DeviceStateSink
) -> DeviceHub:
    """The device workers the config lists (simulators for `sim://` ports); not started."""
    # Imported here: the headless kiosks (chaos stand-in, bench soak) need no driver or camera
    # libraries (measured: about 20 MB of RSS).
    from kiosk.runtime.devices import DeviceHub

    return DeviceHub(config, post, states=states)
