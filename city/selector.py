"""Rollout targets: `all`, `district:NAME`, `centre:X`, `kiosk:X` (X one id of the topic tree;
NAME a district as the inventory spells it, e.g. 福田区).

Parsed strictly (bounded, one form per target) so a typo never widens a rollout: `centre:` with
nothing after it is an error, not "every centre". `kiosk:X` takes the full id CITY/CENTRE/KIOSK
or a kiosk name that is unique in the fleet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import psycopg

MAX_SELECTOR_CHARS = 200
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# districts are names people use ("福田区", inventory.yaml): letters of any script, no blanks
DISTRICT_RE = re.compile(r"[^\W][\w-]{0,63}")
KIOSK_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}")

SelectorKind = Literal["all", "district", "centre", "kiosk"]
KINDS: tuple[SelectorKind, ...] = ("all", "district", "centre", "kiosk")


class SelectorError(ValueError):
    """Not a selector; the message shows the accepted forms."""


@dataclass(frozen=True)
class Selector:
    """Which kiosks a rollout goes to."""

    kind: SelectorKind
    value: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"


FORMS = (
    "all, district:NAME, centre:X or kiosk:X (X letters, digits, '_' or '-';"
    " kiosk:CITY/CENTRE/KIOSK)"
)


def parse_selector(text: str) -> Selector:
    """A Selector from its text form; SelectorError otherwise."""
    if not isinstance(text, str) or len(text) > MAX_SELECTOR_CHARS:
        raise SelectorError(f"expected {FORMS}")
    text = text.strip()
    if text == "all":
        return Selector("all")
    kind, sep, value = text.partition(":")
    if not sep or kind not in ("district", "centre", "kiosk"):
        raise SelectorError(f"expected {FORMS}, got {text[:40]!r}")
    pattern = KIOSK_ID_RE if kind == "kiosk" and "/" in value else ID_RE
    if kind == "district":
        pattern = DISTRICT_RE
    if not pattern.fullmatch(value):
        raise SelectorError(f"{kind}: expected {FORMS}, got {value[:40]!r}")
    return Selector(kind, value)  # type: ignore[arg-type]  # kind checked just above


def resolve(conn: psycopg.Connection, selector: Selector) -> list[str]:
    """The kiosk ids (CITY/CENTRE/KIOSK) the selector names in the `kiosks` table, sorted.

    SelectorError if a `kiosk:NAME` is ambiguous (the same name in two centres).
    """
    if selector.kind == "all":
        rows = conn.execute("SELECT kiosk FROM kiosks ORDER BY kiosk").fetchall()
    elif selector.kind == "district":
        rows = conn.execute(
            "SELECT kiosk FROM kiosks WHERE district = %s ORDER BY kiosk", (selector.value,)
        ).fetchall()
    elif selector.kind == "centre":
        rows = conn.execute(
            "SELECT kiosk FROM kiosks WHERE centre = %s ORDER BY kiosk", (selector.value,)
        ).fetchall()
    elif "/" in selector.value:
        rows = conn.execute(
            "SELECT kiosk FROM kiosks WHERE kiosk = %s", (selector.value,)
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT kiosk FROM kiosks WHERE name = %s ORDER BY kiosk", (selector.value,)
        ).fetchall()
        if len(rows) > 1:
            names = ", ".join(r[0] for r in rows[:5])
            raise SelectorError(
                f"kiosk:{selector.value} is ambiguous ({names}); give CITY/CENTRE/KIOSK"
            )
    return [str(r[0]) for r in rows]
