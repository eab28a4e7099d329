"""A Report → CSV (UTF-8 with BOM), Excel .xlsx (XlsxWriter) or JSON bytes.

Spreadsheets run formulas: a text cell that starts with = + - @, a tab or a carriage return
(OWASP "CSV injection") gets a leading apostrophe in CSV and is written as a plain string in
xlsx (never `write()`, which would turn '=…' into a formula). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Literal

import xlsxwriter

from city.reports.labels import Lang, pick
from city.reports.table import Cell, Report, Table

Format = Literal["csv", "xlsx", "json"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "json")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
SHEET_NAME_MAX = 31
CONTENT_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def safe_text(text: str) -> str:
    """Text a spreadsheet shows as text: a formula-like start gets an apostrophe first."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(cell: Cell) -> str:
    """A cell as CSV text (numbers and dates plain, text made safe)."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "1" if cell else "0"
    if isinstance(cell, int | float):
        return repr(cell) if isinstance(cell, float) else str(cell)
    if isinstance(cell, datetime):
        return cell.isoformat(timespec="seconds")
    if isinstance(cell, date):
        return cell.isoformat()
    return safe_text(str(cell))


def to_csv(report: Report, lang: Lang = "zh") -> bytes:
    """UTF-8 with a BOM (Excel then reads the Chinese right); tables one after another."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    many = len(report.tables) > 1
    for index, table in enumerate(report.tables):
        if many:
            if index:
                writer.writerow([])
            writer.writerow([safe_text(table.title_in(lang))])
        writer.writerow([safe_text(c.label(lang)) for c in table.columns])
        for row in table.rows:
            writer.writerow([cell_text(c) for c in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _sheet_name(table: Table, lang: Lang, used: set[str]) -> str:
    name = "".join(ch for ch in table.title_in(lang) if ch not in "[]:*?/\\'")[:SHEET_NAME_MAX]
    name = name.strip() or table.name[:SHEET_NAME_MAX]
    base, n = name, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


def to_xlsx(report: Report, lang: Lang = "zh") -> bytes:
    """One sheet per table, a bold frozen header row, dates as dates, text never a formula."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    percent = book.add_format({"num_format": "0.0%"})
    used: set[str] = set()
    for table in report.tables:
        sheet = book.add_worksheet(_sheet_name(table, lang, used))
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, column.label(lang), bold)
            sheet.set_column(col, col, max(10, min(40, len(column.label(lang)) * 2 + 2)))
        sheet.freeze_panes(1, 0)
        rate_columns = {i for i, c in enumerate(table.columns) if c.key.endswith("_rate")}
        for r, row in enumerate(table.rows, start=1):
            for col, cell in enumerate(row):
                if cell is None:
                    sheet.write_blank(r, col, None)
                elif isinstance(cell, bool):
                    sheet.write_boolean(r, col, cell)
                elif isinstance(cell, int | float):
                    sheet.write_number(r, col, cell, percent if col in rate_columns else None)
                elif isinstance(cell, datetime):
                    sheet.write_datetime(r, col, cell.replace(tzinfo=None), moment)
                elif isinstance(cell, date):
                    sheet.write_datetime(r, col, datetime(cell.year, cell.month, cell.day), day)
                else:
                    sheet.write_string(r, col, str(cell))
    book.close()
    return out.getvalue()


def _json_cell(cell: Cell) -> str | int | float | None:
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return cell


def to_json(report: Report, lang: Lang = "zh") -> bytes:
    """{"report", "from", "to", "centre", "tables": [{"name", "title", "rows": [{key: …}]}]}."""
    document = {
        "report": report.name,
        "title": pick(report.title, lang),
        "from": report.period[0].isoformat(),
        "to": report.period[1].isoformat(),
        "centre": report.centre,
        "tables": [
            {
                "name": t.name,
                "title": t.title_in(lang),
                "columns": [{"key": c.key, "label": c.label(lang)} for c in t.columns],
                "rows": [
                    {c.key: _json_cell(v) for c, v in zip(t.columns, row, strict=True)}
                    for row in t.rows
                ],
            }
            for t in report.tables
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def render(report: Report, fmt: Format, lang: Lang = "zh") -> bytes:
    """The report's bytes in `fmt`."""
    if fmt == "csv":
        return to_csv(report, lang)
    if fmt == "xlsx":
        return to_xlsx(report, lang)
    return to_json(report, lang)


def filename(report: Report, fmt: Format) -> str:
    """`ratings_2026-11-01_2026-11-30.csv` (ASCII, no centre text: safe in a header)."""
    first, last = report.period
    return f"{report.name}_{first.isoformat()}_{last.isoformat()}.{fmt}"
