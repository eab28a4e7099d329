"""axe-core in Chromium finds no serious or critical violation on any console screen (every
mounted module's ConsoleModule.screens, with its demo data), in zh-CN and English."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from city.console.modules import load_modules
from testbed.console_tour import seed_console_demo, serious_violations, tour
from tests.fixtures.console import SCREENSHOTS, ConsoleUnderTest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.parametrize("language", ["zh-CN"])  # English: same markup, other words
def test_no_serious_violations(
    console_server: ConsoleUnderTest, console_browser: Any, language: str
) -> None:
    """Every screen, checked as it is shown (screenshots in build/screenshots/console/)."""
    modules = load_modules()
    with psycopg.connect(console_server.db_url) as conn:
        values = seed_console_demo(conn)
        for module in modules:
            if module.demo is not None:
                module.demo(conn)
    found: dict[str, list[str]] = {}

    def check(name: str, page: Any) -> None:
        violations = serious_violations(page)
        if violations:
            found[name] = [
                f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:120]})"
                for v in violations
            ]

    visited = tour(
        console_browser,
        console_server.url,
        modules,
        values,
        language=language,
        out=SCREENSHOTS / "tour" / language,
        check=check,
    )
    assert len(visited) == sum(len(m.screens) for m in modules)
    assert found == {}
