"""`city.rollout.*`: a staged catalogue rollout to 1,000 simulated kiosks, from the operator's
confirmation to the last `applied` row (target: every kiosk ≤ 60 s).

Real parts: Mosquitto, a private PostgreSQL, two `python -m city ingest` workers, the city's
dispatcher (city/commands.py) with the development key, the shipped 116 KB catalogue. The
simulated kiosks share one MQTT connection: each command is checked with the kiosk's own
verifier (signature, target, window, nonce) and answered with a `command.result` on the
kiosk's events topic. They do not parse the catalogue: a real kiosk does that on its own CPU,
in parallel with the others, and here 1,000 of them share two cores with the city.
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.city_bench import _count, _wait_count, rig
from bench.runner import Figure
from city.commands import Dispatcher, MqttTransport
from city.config import DEFAULT_CONTRACT_DIR, city_config_from_data
from city.db import connect
from city.rollouts import auto_promote, create_rollout, store_document
from city.selector import Selector
from city.signing import load_signing_key
from city.upload import ValidDocument, parse_upload
from edge_agent.commands import CommandRejected, Verifier, load_public_key
from testbed.city_events import KioskSim

REPO = Path(__file__).resolve().parents[1]
DEV_KEY = REPO / "config" / "dev-keys" / "city-signing-key.DEV-ONLY.pem"
DEV_PUBLIC_KEY = "uB0xNgf3p8Mu//3HLPsKzxa5T/ic78Fpoy6pRDwuq/g="
ROOT = "gov-kiosk/v1"
TARGET_S = 60.0


class SimulatedKiosks:
    """Many kiosks on one connection: verify each command, answer with a command.result."""

    def __init__(self, host: str, port: int, sims: list[KioskSim]) -> None:
        self.sims = {s.full_id: s for s in sims}
        public = load_public_key(DEV_PUBLIC_KEY, None)
        seen: set[str] = set()

        def remember(nonce: str, _until: float, _now: float) -> bool:
            fresh = nonce not in seen
            seen.add(nonce)
            return fresh

        self.verifiers = {k: Verifier(public, k, 60.0, remember) for k in self.sims}
        self.inbox: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.inbox.put((m.topic, bytes(m.payload)))
        self.client.connect(host, port, keepalive=60)
        self.client.subscribe(f"{ROOT}/+/+/+/commands", qos=1)
        self.client.loop_start()
        subscribed.wait(10)
        self.rejected = 0
        self.worker = threading.Thread(target=self._answer, daemon=True)
        self.worker.start()

    def come_online(self) -> None:
        """Every kiosk's birth on its status topic."""
        for sim in self.sims.values():
            self.client.publish(sim.topic("status"), json.dumps(sim.presence("online")), qos=1)

    def _answer(self) -> None:
        while (item := self.inbox.get()) is not None:
            topic, payload = item
            kiosk = topic[len(ROOT) + 1 : -len("/commands")]
            try:
                command = self.verifiers[kiosk].verify(payload, time.time())
                data = {
                    "command_id": command["id"],
                    "command_type": command["type"],
                    "status": "ok",
                    "reason": None,
                    "detail": {"kind": "catalogue", "version": command["args"]["version"]},
                }
            except CommandRejected as exc:
                self.rejected += 1
                data = {
                    "command_id": exc.command_id,
                    "command_type": exc.command_type,
                    "status": "rejected",
                    "reason": exc.reason,
                }
            sim = self.sims[kiosk]
            event = sim.event("command.result", data)
            self.client.publish(sim.topic(), json.dumps({"events": [event]}), qos=1)

    def close(self) -> None:
        """Stop answering, disconnect."""
        self.inbox.put(None)
        self.worker.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()


def rollout_figures(workdir: Path, kiosks: int) -> list[Figure]:
    """Stage 1 = one centre of 100, promoted automatically, then the other centres."""
    with rig(workdir, "rollout") as r:
        config = city_config_from_data(
            {
                "database": {"url": r.db_url},
                "broker": {"url": r.broker.url},
                "contract_dir": str(DEFAULT_CONTRACT_DIR),
                "publishing": {"command_ttl_s": 300},
            },
            source="bench",
            base_dir=REPO,
            env={},
        )
        sims = [KioskSim(centre=f"c{i // 100:02d}", kiosk=f"k{i:04d}") for i in range(kiosks)]
        fleet = SimulatedKiosks(r.broker.host, r.broker.port, sims)
        transport = MqttTransport(r.broker.url, "bench-commands")
        try:
            fleet.come_online()
            online = "SELECT count(*) FROM kiosks WHERE presence = 'online'"
            _wait_count(r.db_url, kiosks, 120, online)
            text = (REPO / "config" / "catalogue.yaml").read_text(encoding="utf-8")
            parsed = parse_upload("catalogue", text.replace("2025.03.1", "2025.12.1").encode())
            assert isinstance(parsed, ValidDocument)
            transport.wait_connected(10)
            dispatcher = Dispatcher(
                config, load_signing_key(DEV_KEY), transport, on_tick=auto_promote
            )
            with connect(r.db_url) as conn:
                document = store_document(conn, parsed, "bench")
                conn.commit()
                confirmed = time.monotonic()  # the operator's click: plan, sign, send from here
                rollout = create_rollout(
                    conn, document, Selector("all"), by="bench", auto_promote=True
                )
                conn.commit()
                applied_sql = (
                    "SELECT count(*) FROM commands WHERE state = 'applied' AND rollout_id = "
                    f"{rollout}"
                )
                deadline = confirmed + 180
                while time.monotonic() < deadline:
                    dispatcher.tick(conn)
                    if _count(r.db_url, applied_sql) >= kiosks:
                        break
                    time.sleep(0.1)
                total = time.monotonic() - confirmed
                applied = _count(r.db_url, applied_sql)
                row = conn.execute(
                    "SELECT extract(epoch FROM max(c.result_at) - r.created_at) FROM rollouts r"
                    " JOIN rollout_targets t ON t.rollout_id = r.id AND t.stage = 1"
                    " JOIN commands c ON c.id = t.command_id WHERE r.id = %s GROUP BY r.id",
                    (rollout,),
                ).fetchone()
                stage1_done = float(row[0]) if row and row[0] is not None else None
        finally:
            transport.close()
            fleet.close()
    note = f"target ≤ {TARGET_S:.0f} s; {len(document.content.encode()) // 1024} KB catalogue"
    return [
        Figure("city.rollout.kiosks", kiosks, "kiosks"),
        Figure("city.rollout.applied", applied, "kiosks"),
        Figure("city.rollout.stage1_applied_s", round(stage1_done or -1, 2), "s", "100 kiosks"),
        Figure("city.rollout.all_applied_s", round(total, 2), "s", note),
        Figure("city.rollout.within_target", applied == kiosks and total <= TARGET_S),
        Figure("city.rollout.rejected", fleet.rejected, "commands"),
    ]


def run(quick: bool) -> list[Figure]:
    """The rollout figures (quick: 200 kiosks)."""
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as tmp:
        try:
            return rollout_figures(Path(tmp), 200 if quick else 1000)
        except (TimeoutError, RuntimeError) as exc:
            return [Figure("city.rollout.error", str(exc)[:200])]


if __name__ == "__main__":
    started = datetime.now(UTC)
    for figure in run(quick=False):
        print(figure)
    print(f"started {started:%H:%M:%S}")
