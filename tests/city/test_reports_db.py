"""The reports against a real private PostgreSQL: events go in through the ingest's own
BatchWriter (the rollup hook in its transaction), reports and follow-ups come out."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import psycopg
import pytest

from city.cli import main
from city.config import city_config_from_data
from city.contract import Contract, load_contract
from city.inventory import InventoryKiosk, sync_inventory
from city.messages import Decoded, decode_message
from city.reports.build import build_report
from city.reports.calendar import WorkCalendar
from city.reports.filters import ReportFilter
from city.reports.followups import (
    AnswerError,
    answer_followup,
    close_followup,
    get_followup,
    list_followups,
)
from city.reports.health import early_warnings
from city.reports.ratings import rating_counts
from city.reports.rollup import ReportRollup, RollupPolicy
from city.reports.usage import usage_data
from city.store import BatchWriter
from testbed import report_events as ev
from testbed.city_events import ROOT, KioskSim, batch

pytestmark = pytest.mark.postgres

THU = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Shanghai
DAY = date(2026, 12, 3)
POLICY = RollupPolicy("Asia/Shanghai", 5, WorkCalendar())
ALL_DEC = ReportFilter(date(2026, 12, 1), date(2026, 12, 31))
S1, S2, S3 = "a1" * 32, "b2" * 32, "c3" * 32


@pytest.fixture(scope="module")
def contract() -> Contract:
    """The compiled contract."""
    from city.config import DEFAULT_CONTRACT_DIR

    return load_contract(DEFAULT_CONTRACT_DIR)


@pytest.fixture
def conn(city_db: str) -> Iterator[psycopg.Connection]:
    """A connection to a migrated database."""
    with psycopg.connect(city_db) as connection:
        yield connection


class Ingest:
    """Writes events the way the ingest does, rollup hook included."""

    def __init__(self, conn: psycopg.Connection, contract: Contract) -> None:
        self.writer = BatchWriter(conn, after_insert=ReportRollup(POLICY))
        self.contract = contract

    def message(self, sim: KioskSim, *events: dict[str, Any]) -> Decoded:
        decoded = decode_message(
            sim.topic(),
            batch(*events),
            topic_root=ROOT,
            contract=self.contract,
            max_payload_bytes=10**7,
            raw_cap_bytes=200,
        )
        assert not decoded.quarantined, decoded.quarantined
        return decoded

    def send(self, sim: KioskSim, *events: dict[str, Any]) -> Decoded:
        message = self.message(sim, *events)
        self.writer.write([message], datetime.now(UTC))
        return message


@pytest.fixture
def ingest(conn: psycopg.Connection, contract: Contract) -> Ingest:
    """The ingest's writer on `conn`."""
    return Ingest(conn, contract)


def _ratings(ingest: Ingest) -> tuple[KioskSim, Decoded]:
    sim = ev.at(KioskSim(kiosk="k01"), THU)
    s = ev.new_session()
    message = ingest.send(
        sim,
        ev.session_started(sim, s),
        ev.rating(sim, s, 5, item="social-card"),
        ev.rating(sim, s, 4, item="social-card"),
        ev.rating(sim, s, 3, item="social-card"),
        ev.rating(sim, s, 2, ("waited_too_long",), item="social-card"),
        ev.rating(sim, s, 1, ("device_problem", "other")),
    )
    return sim, message


def test_ratings_counts_rate_and_reasons(conn: psycopg.Connection, ingest: Ingest) -> None:
    """Per centre (every item) and per item: levels, 满意率 (levels 3-5), reasons of 差评."""
    _ratings(ingest)
    (centre,) = rating_counts(conn, ALL_DEC, "centre")
    assert centre.key == ("440300", "futian-xmh")
    assert centre.levels == {5: 1, 4: 1, 3: 1, 2: 1, 1: 1}
    assert (centre.total, centre.low, centre.satisfaction_rate) == (5, 2, 0.6)
    assert centre.reasons == {"waited_too_long": 1, "device_problem": 1, "other": 1}
    items = {c.key[0]: c for c in rating_counts(conn, ALL_DEC, "item")}
    assert items["social-card"].satisfaction_rate == 0.75
    assert items[""].reasons == {"device_problem": 1, "other": 1}
    (day,) = rating_counts(conn, ALL_DEC, "day")
    assert (day.key, day.total) == ((DAY,), 5)
    assert rating_counts(conn, ReportFilter(date(2026, 12, 4), date(2026, 12, 31))) == []
    assert rating_counts(conn, ReportFilter(DAY, DAY, None, "elsewhere")) == []
    assert len(rating_counts(conn, ALL_DEC, "centre_item")) == 2


def test_redelivery_counts_and_opens_nothing_twice(
    conn: psycopg.Connection, ingest: Ingest
) -> None:
    """The same batch again (a redelivery) leaves every count and follow-up as it was."""
    _sim, message = _ratings(ingest)
    before = rating_counts(conn, ALL_DEC)
    ingest.writer.write([message, message], datetime.now(UTC))
    assert rating_counts(conn, ALL_DEC) == before
    followups = list_followups(conn, ALL_DEC, today=DAY)
    assert sorted((f.level, f.due_day, f.status) for f in followups) == [
        (1, date(2026, 12, 10), "open"),
        (2, date(2026, 12, 10), "open"),
    ]
    ids = {e.id for e in message.events if e.data.get("level", 5) <= 2}
    assert {f.event_id for f in followups} == ids


def test_follow_up_answered_then_closed(conn: psycopg.Connection, ingest: Ingest) -> None:
    """open → answered → closed; nothing is closed without an answer; overdue after the due day."""
    _ratings(ingest)
    first, second = list_followups(conn, ALL_DEC, today=DAY)
    now = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    assert not close_followup(conn, first.event_id, "op", now)  # open, no answer
    with pytest.raises(AnswerError):
        answer_followup(conn, first.event_id, "  \n ", "op", now)
    assert answer_followup(conn, first.event_id, "已联系群众，调整了叫号。", "op", now)
    assert not answer_followup(conn, first.event_id, "again", "op", now)
    assert close_followup(conn, first.event_id, "lead", now)
    assert close_followup(conn, second.event_id, "lead", now, answer="设备已更换")
    conn.commit()
    closed = get_followup(conn, first.event_id)
    assert closed is not None
    assert (closed.status, closed.answered_by, closed.closed_by) == ("closed", "op", "lead")
    assert not closed.overdue(date(2027, 1, 1), ZoneInfo("Asia/Shanghai"))
    other = get_followup(conn, second.event_id)
    assert other is not None
    assert (other.status, other.answer) == ("closed", "设备已更换")


def test_overdue_follow_ups(conn: psycopg.Connection, ingest: Ingest) -> None:
    """Still open after the due day: listed as overdue."""
    _ratings(ingest)
    assert list_followups(conn, ALL_DEC, "overdue", today=date(2026, 12, 10)) == []
    late = list_followups(conn, ALL_DEC, "overdue", today=date(2026, 12, 11))
    assert len(late) == 2


def test_usage_day_hour_items_identification(conn: psycopg.Connection, ingest: Ingest) -> None:
    """Sessions by day and hour of the week, items, identification, endings, opening check."""
    sync_inventory(
        conn,
        [
            InventoryKiosk("440300/futian-xmh/k01", "福田区", "Mon-Fri 09:00-18:00"),
            InventoryKiosk("440300/short-c/k01", "福田区", "Mon-Fri 09:00-15:00"),
        ],
    )
    sim = ev.at(KioskSim(kiosk="k01"), THU)
    one, two, three = ev.new_session(), ev.new_session(), ev.new_session()
    ingest.send(
        sim,
        ev.session_started(sim, one),
        ev.card_read(sim, one, S1),
        ev.service_selected(sim, one, "social-card"),
        ev.session_ended(sim, one, "completed", identified=True),
        ev.session_started(sim, two),
        ev.qr_scanned(sim, two),
        ev.service_selected(sim, two, "social-card"),
        ev.service_selected(sim, two, "pension"),
        ev.session_ended(sim, two, "idle_timeout", identified=True),
    )
    ev.at(sim, THU + timedelta(hours=8))  # 18:00 local
    ingest.send(
        sim,
        ev.session_started(sim, three, "health"),
        ev.session_ended(sim, three, "completed", identified=False),
    )
    conn.commit()
    usage = usage_data(
        conn, ALL_DEC, today=date(2026, 12, 5), calendar=WorkCalendar(), min_open_hours=8
    )
    assert usage.by_day[DAY] == 3
    assert usage.heatmap[3][10] == 2
    assert usage.heatmap[3][18] == 1
    assert usage.items[:2] == [("social-card", 2), ("pension", 1)]
    assert usage.identification == [
        ("anonymous", "", 1),
        ("card", "resident", 1),
        ("qr", "medical_insurance_code", 1),
    ]
    assert usage.ended == {"completed": 2, "idle_timeout": 1}
    centre = usage.centres[("440300", "futian-xmh")]
    assert (centre["sessions"], centre["identified:yes"], centre["identified:no"]) == (3, 2, 1)
    # 2026-12-01/02/04 nobody came to futian-xmh; 12-03 it was busy 10:00-18:59 (9 h);
    # short-c opens 6 h a day, so every working day is flagged there.
    flagged = {(d, c) for d, _city, c, *_ in usage.flags}
    assert (DAY, "futian-xmh") not in flagged
    assert {(date(2026, 12, 2), "futian-xmh"), (DAY, "short-c")} <= flagged
    short = next(f for f in usage.flags if f[2] == "short-c")
    assert short[3] == 6.0


def test_early_warning_two_visits_within_30_days(conn: psycopg.Connection, ingest: Ingest) -> None:
    """Grade 2-3 on two days at most 30 apart puts the pseudonym on the list, readings only."""
    sim = KioskSim(kiosk="k01")

    def reading(when: datetime, subject: str | None, sys_: int, dia: int, klass: str) -> None:
        ev.at(sim, when)
        s = ev.new_session()
        ingest.send(sim, ev.bp_measured(sim, s, sys_, dia, klass, subject=subject))

    reading(datetime(2026, 12, 1, 2, tzinfo=UTC), S1, 165, 101, "grade_2")
    reading(datetime(2026, 12, 20, 2, tzinfo=UTC), S1, 182, 111, "grade_3")
    reading(datetime(2026, 12, 5, 2, tzinfo=UTC), S2, 170, 104, "grade_2")  # same day twice
    reading(datetime(2026, 12, 5, 5, tzinfo=UTC), S2, 171, 103, "grade_2")
    reading(datetime(2026, 10, 30, 2, tzinfo=UTC), S3, 170, 104, "grade_2")  # 44 days apart
    reading(datetime(2026, 12, 13, 2, tzinfo=UTC), S3, 170, 104, "grade_2")
    reading(datetime(2026, 12, 6, 2, tzinfo=UTC), None, 190, 120, "grade_3")  # anonymous
    reading(datetime(2026, 12, 7, 2, tzinfo=UTC), None, 190, 120, "grade_3")
    conn.commit()
    warnings = early_warnings(conn, ALL_DEC, 30)
    assert [(w.key_id, w.subject) for w in warnings] == [("k1", S1)]
    assert [(r.systolic, r.diastolic, r.classification) for r in warnings[0].readings] == [
        (165.0, 101.0, "grade_2"),
        (182.0, 111.0, "grade_3"),
    ]
    # the later visit must fall in the period
    assert early_warnings(conn, ReportFilter(date(2026, 12, 1), date(2026, 12, 19)), 30) == []


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(
        json.dumps(
            {
                "database": {"url": url},
                "broker": {"url": "mqtt://127.0.0.1:1"},
                "reports": {"followup_working_days": 3, "holidays": ["2026-12-04"]},
            }
        )
    )
    return path


def test_cli_writes_every_report(
    conn: psycopg.Connection, ingest: Ingest, city_db: str, tmp_path: Path
) -> None:
    """`python -m city report NAME --from --to --format --out` for each report and format."""
    _ratings(ingest)
    conn.commit()
    config = _config(tmp_path, city_db)
    for name in ("ratings", "usage", "health", "followups"):
        for fmt in ("csv", "xlsx", "json"):
            out = tmp_path / f"{name}.{fmt}"
            argv = ["report", name, "--config", str(config), "--from", "2026-12-01"]
            argv += ["--to", "2026-12-31", "--format", fmt, "--out", str(out)]
            assert main(argv) == 0, (name, fmt)
            assert out.stat().st_size > 0
    text = (tmp_path / "ratings.csv").read_bytes().decode("utf-8")
    assert text.startswith("\ufeff按服务中心\r\n城市,服务中心,非常满意,满意")
    book = openpyxl.load_workbook(io.BytesIO((tmp_path / "followups.xlsx").read_bytes()))
    sheet = book.worksheets[0]
    assert sheet.cell(1, 9).value == "整改期限"
    assert sheet.max_row == 3
    document = json.loads((tmp_path / "ratings.json").read_text())
    assert document["tables"][0]["rows"][0]["satisfaction_rate"] == 0.6
    assert (
        main(
            [
                "report",
                "ratings",
                "--config",
                str(config),
                "--from",
                "2026-13-01",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )


def test_follow_up_deadline_from_config(city_db: str, tmp_path: Path) -> None:
    """reports.followup_working_days and reports.holidays shape the due day."""
    config = city_config_from_data(
        json.loads(_config(tmp_path, city_db).read_text()), source="t", base_dir=tmp_path
    )
    from city.reports.rollup import policy_of

    policy = policy_of(config)
    assert policy.calendar.add_working_days(DAY, policy.followup_working_days) == date(2026, 12, 9)


def test_report_of_an_empty_database(conn: psycopg.Connection, tmp_path: Path) -> None:
    """Every report builds on an empty database (no kiosks, no events)."""
    config = city_config_from_data(
        {"database": {"url": "postgresql://x/y"}, "broker": {"url": "mqtt://h"}},
        source="t",
        base_dir=tmp_path,
    )
    for name in ("ratings", "usage", "health", "followups"):
        report = build_report(conn, name, ALL_DEC, config, today=DAY)
        assert report.tables


def test_the_ingest_commit_path_runs_the_hook(
    city_db: str, contract: Contract, tmp_path: Path
) -> None:
    """IngestCore (what both broker adapters use) opens the follow-up in its own commit, once
    even when the broker redelivers the message after a lost ack."""
    from city.ingest_core import IngestCore

    config = city_config_from_data(
        {"database": {"url": city_db}, "broker": {"url": "mqtt://127.0.0.1:1"}},
        source="t",
        base_dir=tmp_path,
    )
    core: IngestCore[int] = IngestCore(config, contract)
    sim = ev.at(KioskSim(kiosk="k01"), THU)
    s = ev.new_session()
    payload = batch(ev.session_started(sim, s), ev.rating(sim, s, 1, ("other",), "social-card"))
    acked: list[int] = []
    for token in (1, 2):  # the same message delivered twice
        core.receive(token, sim.topic(), payload)
        core.flush(acked.extend)
    core.close()
    assert acked == [1, 2]
    with psycopg.connect(city_db) as conn:
        (followups,) = conn.execute("SELECT count(*) FROM report_followups").fetchone() or (0,)
        (ratings,) = conn.execute("SELECT sum(n) FROM report_ratings_daily").fetchone() or (0,)
    assert (followups, ratings) == (1, 1)
