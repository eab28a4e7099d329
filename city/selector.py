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


WHERE = {
    "all": "TRUE",
    "district": "k.district = %(value)s",
    "centre": "k.centre = %(value)s",
    "kiosk_id": "k.kiosk = %(value)s",
    "kiosk_name": "k.name = %(value)s",
}


def where_clause(selector: Selector) -> str:
    """The SQL condition on `kiosks k` for this selector (its value is `%(value)s`)."""
    if selector.kind == "kiosk":
        return WHERE["kiosk_id" if "/" in selector.value else "kiosk_name"]
    return WHERE[selector.kind]


def resolve_with_versions(
    conn: psycopg.Connection, selector: Selector, kind: str
) -> list[tuple[str, str | None]]:
    """(kiosk id, the version of `kind` it last reported running) for every kiosk named,
    sorted; SelectorError if a `kiosk:NAME` is ambiguous (the same name in two centres)."""
    rows = conn.execute(
        "SELECT k.kiosk, COALESCE(kc.version, CASE WHEN %(kind)s = 'catalogue'"  # noqa: S608 — fixed text
        "       THEN k.catalogue_version END)"
        " FROM kiosks k LEFT JOIN kiosk_config kc ON kc.kiosk = k.kiosk AND kc.kind = %(kind)s"
        f" WHERE {where_clause(selector)} ORDER BY k.kiosk",
        {"kind": kind, "value": selector.value},
    ).fetchall()
    if selector.kind == "kiosk" and len(rows) > 1:
        names = ", ".join(r[0] for r in rows[:5])
        raise SelectorError(
            f"kiosk:{selector.value} is ambiguous ({names}); give CITY/CENTRE/KIOSK"
        )
    return [(str(k), None if v is None else str(v)) for k, v in rows]


def resolve(conn: psycopg.Connection, selector: Selector) -> list[str]:
    """The kiosk ids (CITY/CENTRE/KIOSK) the selector names in the `kiosks` table, sorted."""
    return [kiosk for kiosk, _ in resolve_with_versions(conn, selector, "catalogue")]
