"""Every kiosk's state for the console: online / degraded / offline / missing, in SQL.

- missing: listed in the inventory (or known) but never connected (presence never_seen);
- offline: its last presence message says offline (the Will, or a clean stop);
- degraded: online, but with a problem the alert rules watch (city.rules, the same
  thresholds): a device faulted (device.fault without device.recovered) or reported fault /
  disconnected in the heartbeat; a backlog (oldest unsent event older than backlog_after_s);
  free disk below disk_low_mb; the clock not synchronised; or no heartbeat for
  heartbeat_interval_s x heartbeat_missed_intervals;
- online: none of these.

The state is computed per row from the `kiosks` row (one per kiosk) and the device_states
primary key, so filtering and counting 10,000 kiosks is one scan of `kiosks` (docs/console.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from city.config import RulesConfig
from city.console.filters import STATES, FleetFilter

PROBLEMS = ("device", "backlog", "disk", "clock", "heartbeat")

FLEET_CTE = """
WITH base AS (
  SELECT k.kiosk, k.city, k.centre, k.name, k.district, k.in_inventory, k.presence,
         k.presence_since, k.offline_reason, k.last_heartbeat_at, k.outbox_depth,
         k.oldest_unsent_age_s, k.free_disk_mb, k.clock_synchronised, k.clock_offset_ms,
         k.catalogue_version, k.agent_version, k.versions, k.devices, k.boot,
         (EXISTS (SELECT 1 FROM device_states d WHERE d.kiosk = k.kiosk
                  AND d.fault_since IS NOT NULL)
          OR k.devices @? '$.* ? (@ == "fault" || @ == "disconnected")') AS p_device,
         coalesce(k.oldest_unsent_age_s > %(backlog_s)s, false) AS p_backlog,
         coalesce(k.free_disk_mb < %(disk_mb)s, false) AS p_disk,
         (%(clock)s AND k.clock_synchronised IS FALSE) AS p_clock,
         (k.last_heartbeat_at IS NULL OR k.last_heartbeat_at < %(now)s - %(stale)s) AS p_heartbeat
  FROM kiosks k
  WHERE {where}
), fleet AS (
  SELECT base.*,
         CASE WHEN presence = 'never_seen' THEN 'missing'
              WHEN presence = 'offline' THEN 'offline'
              WHEN p_device OR p_backlog OR p_disk OR p_clock OR p_heartbeat THEN 'degraded'
              ELSE 'online' END AS state,
         array_remove(ARRAY[CASE WHEN p_device THEN 'device' END,
                            CASE WHEN p_backlog THEN 'backlog' END,
                            CASE WHEN p_disk THEN 'disk' END,
                            CASE WHEN p_clock THEN 'clock' END,
                            CASE WHEN p_heartbeat THEN 'heartbeat' END], NULL) AS problems
  FROM base
)
"""


@dataclass(frozen=True)
class FleetPage:
    """One page of the fleet, the counts per state for the same filters, and the page count.

    `districts` has the counts per state of every district (under the centre and text
    filters), `centres` those of the chosen district's centres (under the text filter): the
    overview and the page's counts come from one grouped scan.
    """

    kiosks: list[dict[str, Any]]
    counts: dict[str, int]
    districts: list[tuple[str | None, dict[str, int]]]
    centres: list[tuple[str, dict[str, int]]]
    total: int
    page: int
    pages: int


def _params(rules: RulesConfig, now: datetime) -> dict[str, Any]:
    return {
        "backlog_s": rules.backlog_after_s,
        "disk_mb": rules.disk_low_mb,
        "clock": rules.clock_unsynchronised,
        "now": now,
        "stale": timedelta(seconds=rules.heartbeat_interval_s * rules.heartbeat_missed_intervals),
    }


def _where(
    flt: FleetFilter, params: dict[str, Any], *, district: bool = True, centre: bool = True
) -> str:
    where = ["TRUE"]
    if flt.district is not None and district:
        where.append("k.district = %(district)s")
        params["district"] = flt.district
    if flt.centre is not None and centre:
        where.append("k.centre = %(centre)s")
        params["centre"] = flt.centre
    if flt.text is not None:
        where.append("k.kiosk ILIKE %(text)s")
        params["text"] = "%" + _escape_like(flt.text) + "%"
    return " AND ".join(where)


def _fleet_sql(where: str, tail: str) -> str:
    """FLEET_CTE filtered by `where` (this module's fragments; values are parameters)."""
    return FLEET_CTE.format(where=where) + tail


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fleet_page(
    conn: psycopg.Connection, flt: FleetFilter, rules: RulesConfig, now: datetime, page_size: int
) -> FleetPage:
    """The kiosks matching `flt`, by district, centre and id, one page of them."""
    params = _params(rules, now)
    per_district: dict[str | None, dict[str, int]] = {}
    per_centre: dict[str, dict[str, int]] = {}
    counts = dict.fromkeys(STATES, 0)
    for district, centre, state, count in conn.execute(
        _fleet_sql(
            _where(flt, params, district=False, centre=False),
            "SELECT district, centre, state, count(*) FROM fleet"
            " GROUP BY district, centre, state ORDER BY district NULLS LAST, centre",
        ),
        params,
    ).fetchall():
        in_centre = flt.centre is None or centre == flt.centre
        in_district = flt.district is None or district == flt.district
        if in_centre:
            per_district.setdefault(district, dict.fromkeys(STATES, 0))[state] += int(count)
        if in_district and flt.district is not None:
            per_centre.setdefault(centre, dict.fromkeys(STATES, 0))[state] += int(count)
        if in_district and in_centre:
            counts[state] += int(count)
    total = counts[flt.state] if flt.state else sum(counts.values())
    pages = max(1, -(-total // page_size))
    page = min(flt.page, pages)
    params = _params(rules, now)
    where = _where(flt, params)
    params |= {"state": flt.state, "limit": page_size, "offset": (page - 1) * page_size}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _fleet_sql(
                where,
                "SELECT * FROM fleet WHERE %(state)s::text IS NULL OR state = %(state)s"
                " ORDER BY district NULLS LAST, centre, kiosk LIMIT %(limit)s OFFSET %(offset)s",
            ),
            params,
        ).fetchall()
    return FleetPage(
        rows, counts, list(per_district.items()), list(per_centre.items()), total, page, pages
    )


def kiosk_state(
    conn: psycopg.Connection, kiosk: str, rules: RulesConfig, now: datetime
) -> dict[str, Any] | None:
    """One kiosk's row with its state and problems; None if the city does not know it."""
    params = _params(rules, now) | {"kiosk": kiosk}
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _fleet_sql("k.kiosk = %(kiosk)s", "SELECT * FROM fleet"), params
        ).fetchone()


def filter_choices(conn: psycopg.Connection, district: str | None) -> tuple[list[str], list[str]]:
    """The districts, and the centres (of `district` when given), for the filter menus."""
    districts = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT district FROM kiosks WHERE district IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    centres = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT centre FROM kiosks WHERE %(d)s::text IS NULL OR district = %(d)s"
            " ORDER BY 1",
            {"d": district},
        ).fetchall()
    ]
    return districts, centres
