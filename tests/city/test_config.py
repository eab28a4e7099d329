"""city/dev.yaml: typed, path-qualified errors, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from city.cli import DEFAULT_CONFIG
from city.config import DEFAULT_CONTRACT_DIR, CityConfigError, load_city_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(text)
    return path


MINIMAL = "database: {url: 'postgresql://u@h/db'}\nbroker: {url: 'mqtt://127.0.0.1:1883'}\n"


def test_dev_config_loads() -> None:
    """The shipped city/dev.yaml is valid and points at the repository's contract schemas."""
    config = load_city_config(DEFAULT_CONFIG, env={})
    assert config.contract_dir == DEFAULT_CONTRACT_DIR
    assert config.broker.topic_root == "gov-kiosk/v1"
    assert config.inventory is not None
    assert config.inventory.exists()


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    """A typo is refused with its dotted path and a did-you-mean."""
    path = _write(tmp_path, MINIMAL + "ingest: {batch_max_event: 10}\n")
    with pytest.raises(CityConfigError) as caught:
        load_city_config(path, env={})
    assert "ingest.batch_max_event: unknown key; did you mean 'batch_max_events'?" in str(
        caught.value
    )


def test_every_problem_is_reported_with_its_path(tmp_path: Path) -> None:
    """Several mistakes come back together, each at its path."""
    path = _write(
        tmp_path,
        "database: {url: 'mysql://x'}\nbroker: {url: 'mqtt://h', topic_root: 'a/b/c'}\n"
        "alerts: {rules: {clear_after_s: -1}}\n",
    )
    with pytest.raises(CityConfigError) as caught:
        load_city_config(path, env={})
    paths = {p.path for p in caught.value.problems}
    assert paths == {"database.url", "broker.topic_root", "alerts.rules.clear_after_s"}


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    """CITY_DATABASE_URL and CITY_BROKER_URL win over the file."""
    path = _write(tmp_path, MINIMAL)
    config = load_city_config(
        path,
        env={"CITY_DATABASE_URL": "postgresql://o@/x?host=/tmp", "CITY_BROKER_URL": "mqtt://b:1"},
    )
    assert config.database.url == "postgresql://o@/x?host=/tmp"
    assert config.broker.url == "mqtt://b:1"


def test_missing_sections_are_required(tmp_path: Path) -> None:
    """database and broker have no defaults."""
    with pytest.raises(CityConfigError) as caught:
        load_city_config(_write(tmp_path, "{}\n"), env={})
    assert {p.path for p in caught.value.problems} == {"database", "broker"}
