"""The kiosk config's `requests` section (诉求, docs/requests.md): defaults, path errors, the
city's X25519 request key, and the repository's development key refused in the field."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.sealed_box import open_phone, seal_phone
from config import ConfigError, load_config
from config.resident_requests import DEFAULT_CATEGORIES
from tests.foundation.test_config_secrets import DEV_YAML, GOOD_PSEUDONYM_KEY, minimal, write

REPO = Path(__file__).resolve().parents[2]
DEV_KEY_FILE = REPO / "config" / "dev-keys" / "city-request-key.DEV-ONLY.txt"
DEV_KEYS = yaml.safe_load(DEV_KEY_FILE.read_text(encoding="utf-8"))


def field_config(tmp_path: Path, requests: Any) -> dict[str, object]:
    return minimal(tmp_path, privacy={"pseudonym_key": GOOD_PSEUDONYM_KEY}, requests=requests)


def problems(tmp_path: Path, requests: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, field_config(tmp_path, requests)))
    return [str(p) for p in caught.value.problems]


def test_the_dev_config_has_requests_with_the_dev_key_that_opens() -> None:
    config = load_config(DEV_YAML)
    assert config.requests is not None
    assert [c.id for c in config.requests.categories] == [
        "repairs", "sanitation", "dispute", "elderly_care", "other"
    ]  # fmt: skip
    assert config.requests.buildings[0].units[1].zh == "2单元"
    key = config.requests.key
    assert key is not None
    assert key.public_key == DEV_KEYS["public_key"]
    sealed = seal_phone("13812345678", key.raw, "r1")
    assert open_phone(sealed, base64.b64decode(DEV_KEYS["private_key"]), "r1") == "13812345678"


def test_no_section_no_requests_and_an_empty_one_has_the_defaults(tmp_path: Path) -> None:
    bare = minimal(tmp_path, privacy={"pseudonym_key": GOOD_PSEUDONYM_KEY})
    assert load_config(write(tmp_path, bare)).requests is None
    config = load_config(write(tmp_path, field_config(tmp_path, {})))
    assert config.requests is not None
    assert config.requests.categories == DEFAULT_CATEGORIES
    assert all(c.phrases for c in DEFAULT_CATEGORIES)
    assert config.requests.key is None


def test_every_mistake_has_its_path(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "categories": [
                {"id": "Repairs", "label": {"zh": "维修", "en": "Repairs"}},
                {"id": "x", "label": {"zh": "维修", "en": ""}, "phrases": [{"zh": "好"}]},
            ],
            "buildings": [{"label": {"zh": "5栋" * 30, "en": "B5"}, "units": "1单元"}],
            "key": {"key_id": "k 1", "public_key": base64.b64encode(b"short").decode()},
            "colour": "red",
        },
    )
    text = "\n".join(found)
    for path in (
        "requests.categories[0].id",
        "requests.categories[1].label.en",
        "requests.categories[1].phrases[0].en: required",
        "requests.buildings[0].label.zh",
        "requests.buildings[0].units",
        "requests.key.key_id",
        "requests.key.public_key",
        "requests.colour: unknown key",
    ):
        assert path in text, path


def test_duplicate_categories_and_a_bad_key_are_refused(tmp_path: Path) -> None:
    label = {"zh": "维修", "en": "Repairs"}
    found = problems(
        tmp_path,
        {
            "categories": [{"id": "repairs", "label": label}, {"id": "repairs", "label": label}],
            "key": {"key_id": "k1", "public_key": base64.b64encode(bytes(32)).decode()},
        },
    )
    assert any("categories[1].id: duplicate" in p for p in found)
    assert any("requests.key.public_key" in p and "not a public key" in p for p in found)


def test_the_repositorys_request_key_only_on_a_development_kiosk(tmp_path: Path) -> None:
    found = problems(tmp_path, {"key": {"key_id": "dev", "public_key": DEV_KEYS["public_key"]}})
    assert any(p.startswith("requests.key.public_key") and "development" in p for p in found)


def test_the_example_config_documents_the_section() -> None:
    example = (REPO / "config" / "kiosk.example.yaml").read_text(encoding="utf-8")
    assert "requests:" in example
    assert sqlite3  # the store has its own tests (tests/kiosk_runtime/test_resident_requests.py)
