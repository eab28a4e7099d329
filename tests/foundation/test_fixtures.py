"""The shared fixtures behave as the other tests rely on."""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path

import pytest
import serial

from testbed.broker import MosquittoBroker
from tests.fixtures.pty import PtyPair


def test_raw_pty_passes_control_bytes_unchanged(raw_pty: PtyPair) -> None:
    """0x03 and CR reach the driver side as data, with no echo back to the device side."""
    port = serial.Serial(raw_pty.port, baudrate=115200, timeout=1.0)
    try:
        os.write(raw_pty.master, b"\x03\r\n\xaa")
        assert port.read(4) == b"\x03\r\n\xaa"
        port.write(b"\x03")
        assert os.read(raw_pty.master, 10) == b"\x03"
    finally:
        port.close()


def test_closing_the_master_looks_like_an_unplug(raw_pty: PtyPair) -> None:
    """Reads on the driver side fail once the device side is gone."""
    port = serial.Serial(raw_pty.port, baudrate=115200, timeout=1.0)
    try:
        raw_pty.unplug()
        with pytest.raises(serial.SerialException):
            port.read(1)
    finally:
        port.close()


@pytest.mark.broker
def test_broker_restarts_on_the_same_port(mosquitto: MosquittoBroker) -> None:
    """stop() frees the port, start() listens on it again."""
    port = mosquitto.port
    mosquitto.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    mosquitto.start()
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    assert mosquitto.url == f"mqtt://127.0.0.1:{port}"


def test_tmp_sqlite_is_a_fresh_file(tmp_sqlite: Path) -> None:
    """The path does not exist yet and takes a WAL database."""
    assert not tmp_sqlite.exists()
    with sqlite3.connect(tmp_sqlite) as db:
        assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
