"""A real Mosquitto broker on a free loopback port that a test can stop and restart."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def end_process(process: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_s`; reaped either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


def wait_listening(host: str, port: int, timeout_s: float) -> bool:
    """True once something accepts TCP connections on host:port, False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return True
        time.sleep(0.02)
    return False


@dataclass
class TlsFiles:
    """Server-side TLS material for a TLS listener."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_client_cert: bool = True


@dataclass
class MosquittoBroker:
    """One mosquitto process; `stop()` and `start()` keep the same port."""

    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    tls: TlsFiles | None = None
    extra_conf: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`mqtt://127.0.0.1:PORT` (or mqtts:// for a TLS listener)."""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Mosquitto's own log file."""
        return self.workdir / "mosquitto.log"

    def _write_conf(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Started as root, mosquitto drops to the `mosquitto` user unless told otherwise; our
        # temp dirs belong to root, so stay root and keep nothing on disk (docs/design.md §4).
        lines = [
            "user root" if os.geteuid() == 0 else "",
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence false",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_inflight_messages 0",
            "max_queued_messages 0",
        ]
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.cert_file}",
                f"keyfile {self.tls.key_file}",
                f"require_certificate {'true' if self.tls.require_client_cert else 'false'}",
            ]
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(line for line in lines if line) + "\n" + self.extra_conf)
        return conf

    def _extra_listener_ports(self) -> list[int]:
        # A test may add listeners in extra_conf; under load they open after the first one.
        return [
            int(words[1])
            for words in (line.split() for line in self.extra_conf.splitlines())
            if len(words) >= 2 and words[0] == "listener" and words[1].isdigit()
        ]

    def start(self) -> None:
        """Start (or restart) the broker on the same port and wait until it listens."""
        if self.process is not None and self.process.poll() is None:
            return
        conf = self._write_conf()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        ports = [self.port, *self._extra_listener_ports()]
        if not all(wait_listening(self.host, port, START_TIMEOUT_S) for port in ports):
            self.stop()
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {log[-2000:]}")

    def stop(self) -> None:
        """Stop the broker (clients see the connection drop)."""
        if self.process is None:
            return
        end_process(self.process)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the broker (an abrupt crash rather than a clean shutdown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.stop()
