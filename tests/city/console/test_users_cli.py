"""`python -m city users add NAME --role ROLE` (password from stdin or --password-file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from city.console.accounts import check_login
from testbed.console import console_config_data, write_config

pytestmark = pytest.mark.postgres
REPO = Path(__file__).resolve().parents[3]


def _users(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "city", "users", *args, "--config", str(config)],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_add_list_and_refusals(city_db: str, tmp_path: Path) -> None:
    """Add from stdin and from a file; a short password, a bad role, a taken name refused."""
    config = write_config(tmp_path / "city.yaml", console_config_data(city_db, tmp_path / "s"))
    added = _users(config, "add", "wang.wei", "--role", "operator", stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    assert "wang.wei (operator)" in added.stdout
    (tmp_path / "pw").write_text("another long one\n")
    from_file = _users(
        config, "add", "li", "--role", "admin", "--password-file", str(tmp_path / "pw")
    )
    assert from_file.returncode == 0, from_file.stderr
    assert (
        _users(config, "add", "wang.wei", "--role", "viewer", stdin="whatever 12345").returncode
        == 1
    )
    short = _users(config, "add", "zhao", "--role", "viewer", stdin="short\n")
    assert short.returncode == 1
    assert "10 to 256 characters" in short.stderr
    assert (
        _users(config, "add", "bad name", "--role", "viewer", stdin="long enough pw").returncode
        == 1
    )
    assert _users(config, "add", "x", "--role", "root", stdin="long enough pw").returncode == 2
    listed = _users(config, "list")
    assert listed.stdout.split() == ["li", "admin", "wang.wei", "operator"]
    with psycopg.connect(city_db) as conn:
        assert check_login(conn, "wang.wei", "a long password") is not None
        assert check_login(conn, "li", "another long one") is not None
        assert check_login(conn, "li", "another long one ") is None
        actions = conn.execute("SELECT action, subject FROM audit_log ORDER BY id").fetchall()
    assert actions == [("user.add", "wang.wei"), ("user.add", "li")]
