"""A report as tables: columns with zh/en headings and rows of typed cells (exports and pages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from city.reports.labels import Lang, pick

Cell = str | int | float | date | datetime | None


@dataclass(frozen=True)
class Column:
    """One column: a stable key (JSON) and its headings."""

    key: str
    zh: str
    en: str

    def label(self, lang: Lang) -> str:
        """The heading in `lang`."""
        return pick((self.zh, self.en), lang)


@dataclass(frozen=True)
class Table:
    """One sheet: a name (xlsx sheet, JSON key), a title and its rows."""

    name: str
    title: tuple[str, str]
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)

    def title_in(self, lang: Lang) -> str:
        """The title in `lang`."""
        return pick(self.title, lang)


@dataclass(frozen=True)
class Report:
    """What one report command or page produces."""

    name: str
    title: tuple[str, str]
    period: tuple[date, date]
    centre: str
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        """The table called `name`."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)
