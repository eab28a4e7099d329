"""axe-core in Chromium finds no serious or critical violation on any console page: every GET
route of every mounted module (testbed/console_pages.py, nobody keeps a list) plus the modules'
extra Screens, with their demo data, in zh-CN and English. A route the tour cannot reach, or a
page that answers an error, fails too."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from city.console.modules import load_modules
from testbed.console_tour import freshen_heartbeats, seed_all, serious_violations, tour
from tests.fixtures.console import SCREENSHOTS, ConsoleUnderTest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _describe(violation: dict[str, Any]) -> str:
    nodes = violation["nodes"]
    example = nodes[0]["html"][:160] if nodes else ""
    head = f"{violation['id']} ({violation['impact']}): {violation['help']}"
    return f"{head} — {len(nodes)}× e.g. {example}"


@pytest.fixture(scope="module")
def demo(console_server_module: ConsoleUnderTest) -> dict[str, str]:
    """The demo data of every module, seeded once for both languages."""
    console_server_module.reset()
    with psycopg.connect(console_server_module.db_url) as conn:
        return seed_all(conn, load_modules())


# The tour grows with every module's pages: more than the suite's 120 s on a loaded machine.
@pytest.mark.timeout(400)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_no_serious_violations_on_any_page(
    console_server_module: ConsoleUnderTest,
    console_browser: Any,
    demo: dict[str, str],
    language: str,
) -> None:
    """Every page as it is shown (PNGs in build/screenshots/console/tour/LANGUAGE/)."""
    with psycopg.connect(console_server_module.db_url) as conn:
        freshen_heartbeats(conn)
    out = SCREENSHOTS / "tour" / language
    for old in out.glob("*.png"):
        old.unlink()
    found: dict[str, list[str]] = {}

    def check(name: str, page: Any) -> None:
        problems = [_describe(v) for v in serious_violations(page)]
        lang = page.evaluate("document.documentElement.lang")
        if lang != language:
            problems.append(f"<html lang={lang!r}>, not {language!r}")
        if problems:
            found[name] = problems

    result = tour(
        console_browser,
        console_server_module.url,
        load_modules(),
        demo,
        language=language,
        out=out,
        check=check,
    )
    # the console's own pages at least; every other module's come with them
    assert {"login", "fleet", "kiosk", "alerts-open", "audit", "users"} <= set(result.shown)
    report = "\n".join(f"{page}:\n  " + "\n  ".join(v) for page, v in found.items())
    checked = not result.problems and not found
    assert checked, (
        f"{language}: pages the tour could not check:\n"
        + "\n".join(result.problems or ["none"])
        + f"\naxe-core, serious or critical:\n{report or 'none'}"
    )
