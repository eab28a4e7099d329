"""The agent process's log goes through the same PII redaction filter as the kiosk's."""

from __future__ import annotations

from pathlib import Path

from tests.edge_agent.conftest import write_config
from tests.edge_agent.test_agent_broker import run_cli
from tests.fixtures.broker import free_port


def test_agent_log_lines_are_redacted(tmp_path: Path) -> None:
    """`run` installs the kiosk's redaction filter: ID- and phone-shaped values are redacted."""
    id_shaped = "110105199003071234"
    phone = "13912345678"
    tls = {"ca_file": str(tmp_path / id_shaped / phone / "ca.pem")}
    config = write_config(tmp_path / "kiosk", f"mqtts://127.0.0.1:{free_port()}", mqtt={"tls": tls})
    done = run_cli("run", "--config", str(config))
    assert done.returncode == 2
    assert "CA file not found" in done.stderr
    assert "[redacted]" in done.stderr
    assert id_shaped not in done.stderr
    assert phone not in done.stderr
