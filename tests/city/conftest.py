"""City fixtures: the contract the kiosk publishes (docs/contract), a migrated private database,
a private 3-node RabbitMQ cluster, the console (tests/fixtures/console.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from city.config import DEFAULT_CONTRACT_DIR
from city.db import migrate
from tests.fixtures.console import (  # noqa: F401 — fixtures for every city test (docs/console.md)
    console_browser,
    console_client,
    console_config,
    console_page,
    console_server,
    console_server_module,
)
from tests.fixtures.rabbitmq import RabbitCluster, whole_cluster


@pytest.fixture(scope="session")
def contract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract schemas the city tests validate against."""
    return DEFAULT_CONTRACT_DIR


@pytest.fixture
def city_db(postgres_url: str) -> str:
    """A migrated database; its URL."""
    migrate(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
def rabbit_cluster_session() -> Iterator[RabbitCluster]:
    """One private 3-node RabbitMQ cluster for the run (27-57 s to start); removed at the end."""
    cluster = RabbitCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def rabbit_cluster(rabbit_cluster_session: RabbitCluster) -> RabbitCluster:
    """The session's cluster with every node running."""
    return whole_cluster(rabbit_cluster_session)
