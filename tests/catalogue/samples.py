"""A small valid catalogue document to mutate in tests, and helpers to write and load it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from config.catalogue import Catalogue, catalogue_from_bytes

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "catalogue.yaml"

_SMALL: dict[str, Any] = {
    "kind": "catalogue",
    "version": "test-1",
    "city": "440300",
    "schedules": {
        "centre": {
            "rules": [
                {
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "times": ["09:00-12:00", "14:00-18:00"],
                },
                {"days": ["sat"], "times": ["09:00-12:00"]},
            ],
            "note": {"zh": "法定节假日休息", "en": "Closed on public holidays"},
        },
        "online": {"always": True},
    },
    "materials": {"id-card": {"zh": "居民身份证原件", "en": "Resident ID card (original)"}},
    "categories": [
        {
            "id": "yibao",
            "name": {"zh": "医保", "en": "Medical insurance"},
            "icon": "mi",
            "order": 10,
        },
        {"id": "shebao", "name": {"zh": "社保", "en": "Social security"}, "icon": "ss", "order": 5},
    ],
    "items": [
        {
            "id": "yb-001",
            "category": "yibao",
            "name": {"zh": "医保参保信息查询", "en": "Medical insurance enrolment status"},
            "summary": {"zh": "查询参保状态。", "en": "Shows your enrolment status."},
            "materials": [],
            "handling": {"mode": "here", "action": "query"},
            "keywords": ["医保查询"],
            "popularity": 100,
            "age_friendly": True,
        },
        {
            "id": "yb-002",
            "category": "yibao",
            "name": {"zh": "异地就医备案", "en": "Register for treatment in another city"},
            "summary": {
                "zh": "备案后异地直接结算。",
                "en": "Bills elsewhere are settled directly.",
            },
            "materials": ["id-card"],
            "handling": {"mode": "online", "url": "https://service.example/yb/remote"},
        },
        {
            "id": "sb-001",
            "category": "shebao",
            "name": {"zh": "社保卡申领", "en": "Apply for a social security card"},
            "summary": {"zh": "首次申领社保卡。", "en": "First social security card."},
            "materials": ["id-card", {"zh": "数码照片回执", "en": "Digital photo receipt"}],
            "handling": {
                "mode": "window",
                "place": {"zh": "2楼C区", "en": "2nd floor, Zone C"},
                "hours": "centre",
            },
            "popularity": 50,
        },
    ],
}


def small_document() -> dict[str, Any]:
    """A fresh deep copy of the small valid catalogue, free to mutate."""
    return copy.deepcopy(_SMALL)


def dump(document: Any) -> bytes:
    """YAML bytes of a document, Chinese kept readable."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode("utf-8")


def write(tmp_path: Path, document: Any, name: str = "catalogue.yaml") -> Path:
    """Write a document as YAML and return its path."""
    path = tmp_path / name
    path.write_bytes(dump(document))
    return path


def load(document: Any) -> Catalogue:
    """Validate a document through the same entry point the agent's set_config uses."""
    return catalogue_from_bytes(dump(document), "test")
