"""The fault suite's harness in its smallest settings: the same code paths, zero loss."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chaos.city import City
from chaos.harness import recovery_after, stage, tally
from chaos.kiosks import AgentProcess, WriterProcess, write_config
from chaos.proxy import Proxy
from chaos.report import Result, write_results
from chaos.scenarios.serial import KINDS, exercise

pytestmark = pytest.mark.broker


def test_one_agent_sigkill_and_one_broker_restart_lose_nothing(tmp_path: Path) -> None:
    """SIGKILL the agent once, then restart the broker once, under load: every put arrives."""
    result = Result("smoke")
    with stage(tmp_path) as st:
        path = write_config(tmp_path / "k1", st.broker.url, "k1")
        writer = WriterProcess(path, 100.0)
        agent = AgentProcess(path)
        agent.start()
        try:
            assert writer.wait_count(30, 20)
            agent.kill()
            agent.start()
            assert recovery_after(st.city, {"k1"}, time.monotonic(), 20) is not None
            assert writer.wait_count(60, 20)
            st.broker.stop()
            st.broker.start()
            assert recovery_after(st.city, {"k1"}, time.monotonic(), 20) is not None
            offered = writer.stop()
            tally(result, st.city, offered, timeout_s=30)
        finally:
            writer.stop()
            agent.stop()
    assert result.offered >= 60
    assert (result.lost, result.conflicts) == (0, 0)
    assert result.ok


def test_proxy_drop_resets_connections_and_pass_heals(tmp_path: Path) -> None:
    """Through the proxy: a drop ends the agent's connection, and after it events flow again."""
    with stage(tmp_path) as st:
        proxy = Proxy(st.broker.host, st.broker.port)
        proxy.start()
        path = write_config(tmp_path / "k1", proxy.url, "k1")
        agent = AgentProcess(path)
        agent.start()
        writer = WriterProcess(path, 50.0)
        try:
            assert writer.wait_count(10, 20)
            assert st.city.wait_until(lambda: bool(st.city.births), 20)
            proxy.set_mode("drop")
            assert proxy.resets >= 1
            proxy.set_mode("pass")
            healed = time.monotonic()
            assert recovery_after(st.city, {"k1"}, healed, 20) is not None
            offered = writer.stop()
            result = Result("proxy")
            tally(result, st.city, offered, timeout_s=30)
            assert result.ok
        finally:
            writer.stop()
            agent.stop()
            proxy.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_unplug_replug_once_per_device_recovers_with_typed_errors(kind: str) -> None:
    """One unplug/replug on each simulated device: typed errors only, loss and recovery once."""
    tally_ = exercise(kind, cycles=1, ops_per_cycle=1)
    assert tally_.untyped == []
    assert len(tally_.recovery_s) == 1
    assert (tally_.losses, tally_.recoveries) == (1, 2)  # the first open is reported too
    assert tally_.garbage_discarded > 0 or kind == "qrscan"


def test_city_counts_same_id_repeats_and_flags_a_reused_seq() -> None:
    """Same id twice is a duplicate; another id under a seen (kiosk, boot, seq) is a conflict."""
    city = City("127.0.0.1", 1)
    event = {"id": "a", "kiosk": "k1", "boot_id": "b", "seq": 1, "type": "test"}
    city._record(event, 1.0)
    city._record(dict(event), 2.0)
    assert city.duplicates({"a"}) == 1
    assert city.conflicts == []
    city._record({**event, "id": "c"}, 3.0)
    assert len(city.conflicts) == 1


def test_results_file_has_one_summary_per_scenario(tmp_path: Path) -> None:
    """results.json holds each scenario's counts, its summary line and the overall verdict."""
    bad = Result("x", offered=3, delivered=2, lost=1)
    path = write_results([Result("ok", offered=1, delivered=1), bad], True, tmp_path / "r.json")
    document = json.loads(path.read_text())
    assert document["meta"]["ok"] is False
    assert document["scenarios"]["x"]["summary"].startswith("FAIL x")
    assert "lost=1" in document["scenarios"]["x"]["summary"]
