"""City fixtures: the contract the kiosk publishes (docs/contract), a migrated private database."""

from __future__ import annotations

from pathlib import Path

import pytest

from city.config import DEFAULT_CONTRACT_DIR
from city.db import migrate


@pytest.fixture(scope="session")
def contract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract schemas the city tests validate against."""
    return DEFAULT_CONTRACT_DIR


@pytest.fixture
def city_db(postgres_url: str) -> str:
    """A migrated database; its URL."""
    migrate(postgres_url)
    return postgres_url
