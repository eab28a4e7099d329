"""A private 3-node RabbitMQ cluster on loopback (MQTT plugin on), with one node killable.

Never the machine's own RabbitMQ: every node has free ports (AMQP, MQTT, Erlang distribution),
the cluster has its own epmd on a free port (ERL_EPMD_PORT), its own HOME for the Erlang cookie
and its own data, log and config files in a temp dir. The epmd is started here in the
foreground, so every process this module starts is a child it can kill by pid (each node in a
process group of its own: the server script, beam.smp and its helpers).

Used by the city tests and `make chaos` (cluster_node_kill). Debian's rabbitmq-server 3.10.8
(docs/design.md §5): the nodes join through classic-config peer discovery, node 1 first and
then the others, and a test can SIGKILL a node and start it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from testbed.broker import wait_listening

RABBITMQ_SBIN = Path("/usr/lib/rabbitmq/bin")
EPMD = shutil.which("epmd") or "/usr/bin/epmd"
START_TIMEOUT_S = 120.0
CTL_TIMEOUT_S = 90.0
HOST = "127.0.0.1"
LOOPBACK_DIST = "-kernel inet_dist_use_interface {127,0,0,1}"
# Below Linux's ephemeral range (32768-60999): a port picked here is not taken meanwhile as
# the local end of some outgoing connection (seen: a node's AMQP port, picked by binding port
# 0, was in use by the time the node started). The machine's own 4369/5672/25672 are outside.
PRIVATE_PORTS = range(26000, 32000)
START_ATTEMPTS = 3


def private_port() -> int:
    """A loopback TCP port below the ephemeral range that nothing listens on right now."""
    for _ in range(200):
        port = random.choice(PRIVATE_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port in the private range")


@dataclass
class RabbitNode:
    """One node: its name, ports and directories; `process` while it runs."""

    index: int
    base: Path
    amqp_port: int = field(default_factory=private_port)
    mqtt_port: int = field(default_factory=private_port)
    dist_port: int = field(default_factory=private_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        """The Erlang node name, e.g. rmq1@localhost."""
        return f"rmq{self.index}@localhost"

    @property
    def amqp_url(self) -> str:
        """AMQP 0-9-1 URL for the default vhost and guest (allowed on loopback)."""
        return f"amqp://guest:guest@{HOST}:{self.amqp_port}/%2F"

    @property
    def running(self) -> bool:
        """The node's process is alive."""
        return self.process is not None and self.process.poll() is None


@dataclass
class RabbitCluster:
    """Three nodes clustered on loopback; `start()`, `kill(i)`, `restart(i)`, `remove()`."""

    size: int = 3
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="city-rmq-")))
    epmd_port: int = field(default_factory=private_port)
    nodes: list[RabbitNode] = field(default_factory=list)
    epmd: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16))
            cookie.chmod(0o400)
        (self.root / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (self.root / "rabbitmq-env.conf").write_text("")
        if not self.nodes:
            self.nodes = [RabbitNode(i, self.root / f"n{i}") for i in range(1, self.size + 1)]

    @property
    def home(self) -> Path:
        """HOME of every node and CLI call: the cluster's Erlang cookie lives there."""
        return self.root / "home"

    def node(self, index: int) -> RabbitNode:
        """Node `index` (1-based)."""
        return self.nodes[index - 1]

    @property
    def amqp_urls(self) -> list[str]:
        """Every node's AMQP URL, node 1 first."""
        return [n.amqp_url for n in self.nodes]

    def _env(self, node: RabbitNode | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": HOST,
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
        }
        if node is not None:
            env |= {
                "RABBITMQ_NODENAME": node.name,
                "RABBITMQ_NODE_IP_ADDRESS": HOST,
                "RABBITMQ_NODE_PORT": str(node.amqp_port),
                # the default (AMQP port + 20000 = 25672) is the machine's own RabbitMQ's
                "RABBITMQ_DIST_PORT": str(node.dist_port),
                "RABBITMQ_MNESIA_BASE": str(node.base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(node.base / "log"),
                "RABBITMQ_PID_FILE": str(node.base / "pid"),
                "RABBITMQ_CONFIG_FILE": str(node.base / "rabbitmq"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(node.base / "advanced.config"),
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": LOOPBACK_DIST,
            }
        return env

    def _write_config(self, node: RabbitNode) -> None:
        for sub in ("mnesia", "log"):
            (node.base / sub).mkdir(parents=True, exist_ok=True)
        peers = "\n".join(
            f"cluster_formation.classic_config.nodes.{n.index} = {n.name}" for n in self.nodes
        )
        (node.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {HOST}:{node.amqp_port}\n"
            f"mqtt.listeners.tcp.default = {HOST}:{node.mqtt_port}\n"
            "mqtt.allow_anonymous = true\n"
            "cluster_formation.peer_discovery_backend = classic_config\n"
            f"{peers}\n"
            "log.console = false\n"
            "log.file.level = warning\n"
        )
        (node.base / "advanced.config").write_text("[].\n")

    def ctl(self, node: RabbitNode, *args: str, timeout_s: float = CTL_TIMEOUT_S) -> str:
        """`rabbitmqctl -n NODE ARGS…` against this cluster; its stdout (raises on failure)."""
        done = subprocess.run(
            [str(RABBITMQ_SBIN / "rabbitmqctl"), "-n", node.name, *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} on {node.name}: {done.stderr[-2000:]}"
            )
        return done.stdout

    def _start_epmd(self) -> None:
        if self.epmd is not None and self.epmd.poll() is None:
            return
        self.epmd = subprocess.Popen(
            [EPMD, "-port", str(self.epmd_port), "-address", HOST],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_listening(HOST, self.epmd_port, 10):
            raise RuntimeError("the cluster's epmd did not start")

    def _spawn(self, node: RabbitNode) -> None:
        self._write_config(node)
        with (node.base / "stdout.log").open("ab") as out:
            node.process = subprocess.Popen(
                [str(RABBITMQ_SBIN / "rabbitmq-server")],
                env=self._env(node),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _await(self, node: RabbitNode) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not node.running:
                raise RuntimeError(f"{node.name} exited: {self._log_tail(node)}")
            if wait_listening(HOST, node.amqp_port, 0.5) and wait_listening(
                HOST, node.mqtt_port, 0.5
            ):
                return
        raise RuntimeError(f"{node.name} did not start: {self._log_tail(node)}")

    def _log_tail(self, node: RabbitNode) -> str:
        texts = [p.read_text(errors="replace")[-1500:] for p in node.base.glob("**/*.log")]
        return "\n".join(texts)

    def _boot(self, nodes: list[RabbitNode]) -> None:
        """Start `nodes` together; one whose port was taken meanwhile gets new ports, again."""
        for node in nodes:
            self._spawn(node)
        for node in nodes:
            for attempt in range(START_ATTEMPTS):
                try:
                    self._await(node)
                    break
                except RuntimeError:
                    if attempt == START_ATTEMPTS - 1 or "eaddrinuse" not in self._log_tail(node):
                        raise
                self.kill(node.index)
                node.amqp_port, node.mqtt_port = private_port(), private_port()
                node.dist_port = private_port()
                self._spawn(node)

    def start(self) -> None:
        """Start every node (node 1 first: the others join it) and check the membership."""
        self._start_epmd()
        first, *others = self.nodes
        self._boot([first])
        self._boot(others)
        self.wait_members(len(self.nodes))

    def running_members(self) -> list[str]:
        """The running nodes as the first live node sees them."""
        node = next(n for n in self.nodes if n.running)
        status = json.loads(self.ctl(node, "cluster_status", "--formatter", "json"))
        return sorted(status.get("running_nodes", []))

    def wait_members(self, count: int, timeout_s: float = 60.0) -> None:
        """Wait until `count` nodes run as one cluster."""
        deadline = time.monotonic() + timeout_s
        members: list[str] = []
        while time.monotonic() < deadline:
            members = self.running_members()
            if len(members) == count:
                return
            time.sleep(0.5)
        raise RuntimeError(f"cluster has {members}, expected {count} nodes")

    def queue_leader(self, queue: str) -> str | None:
        """The node leading quorum queue `queue` (None if it does not exist)."""
        node = next(n for n in self.nodes if n.running)
        rows = json.loads(self.ctl(node, "list_queues", "name", "leader", "--formatter", "json"))
        return next((r["leader"] for r in rows if r["name"] == queue), None)

    def kill(self, index: int) -> None:
        """SIGKILL node `index`'s whole process group (an abrupt crash: no clean leave)."""
        node = self.node(index)
        if node.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.process.pid, signal.SIGKILL)
        node.process.wait(timeout=10)
        node.process = None

    def restart(self, index: int) -> None:
        """Start a killed node again on the same ports and data; it rejoins the cluster."""
        node = self.node(index)
        if node.running:
            return
        self._spawn(node)
        self._await(node)

    def remove(self) -> None:
        """Kill every node and the epmd started here, then delete the temp dir."""
        for node in self.nodes:
            self.kill(node.index)
        if self.epmd is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.epmd.pid, signal.SIGKILL)
            self.epmd.wait(timeout=10)
            self.epmd = None
        shutil.rmtree(self.root, ignore_errors=True)


def whole_cluster(cluster: RabbitCluster) -> RabbitCluster:
    """Restart any node an earlier test killed, so a test starts with every node up."""
    killed = [n.index for n in cluster.nodes if not n.running]
    for index in killed:
        cluster.restart(index)
    if killed:
        cluster.wait_members(len(cluster.nodes))
    return cluster
