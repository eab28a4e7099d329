"""Exports: CSV with a BOM that no spreadsheet runs as a formula, .xlsx read back by openpyxl
(an independent reader), JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from city.reports.export import FORMULA_STARTS, cell_text, safe_text, to_csv, to_json, to_xlsx
from city.reports.table import Cell, Column, Report, Table

COLUMNS = (
    Column("name", "名称", "Name"),
    Column("n", "数量", "Count"),
    Column("day", "日期", "Day"),
)


def _report(rows: list[tuple[Cell, ...]], columns: tuple[Column, ...] = COLUMNS) -> Report:
    table = Table("t", ("表", "Table"), columns, rows)
    return Report("x", ("报表", "Report"), (date(2026, 12, 1), date(2026, 12, 3)), "", (table,))


@given(text=st.text(max_size=50))
def test_safe_text_never_starts_a_formula(text: str) -> None:
    """The result starts with none of = + - @ tab CR, and only an apostrophe was added."""
    safe = safe_text(text)
    assert not safe.startswith(FORMULA_STARTS)
    assert safe in (text, "'" + text)


@given(cells=st.lists(st.text(max_size=30), min_size=1, max_size=8))
def test_csv_round_trips_and_is_inert(cells: list[str]) -> None:
    """A csv reader gets every cell back (apostrophe-prefixed where it looked like a formula)."""
    report = _report([(c, 1, date(2026, 12, 3)) for c in cells])
    data = to_csv(report)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["名称", "数量", "日期"]
    assert [r[0] for r in rows[1:]] == [safe_text(c) for c in cells]
    assert all(not r[0].startswith(FORMULA_STARTS) for r in rows[1:])


def test_formula_payloads_are_defused() -> None:
    """The classic payloads come out as text in CSV and in the sheet."""
    payloads = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=x", "\r=x", "=HYPERLINK(1)"]
    report = _report([(p, -5, None) for p in payloads])
    lines = to_csv(report).decode("utf-8-sig").splitlines()
    assert all(cell_text(p).startswith("'") for p in payloads)
    assert "-5" in lines[1]  # numbers are numbers, minus and all
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report)))
    sheet = book.worksheets[0]
    values = [sheet.cell(row=r, column=1) for r in range(2, len(payloads) + 2)]
    # openpyxl leaves the OOXML escape of a carriage return as it is; Excel decodes it
    assert [str(c.value).replace("_x000D_", "\r") for c in values] == payloads
    assert all(c.data_type == "s" for c in values)  # strings, never formulas ('f')
    assert sheet.cell(row=2, column=2).value == -5


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
            st.integers(-(10**9), 10**9),
            st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
        ),
        max_size=10,
    )
)
def test_xlsx_holds_what_was_written(rows: list[tuple[str, int, date]]) -> None:
    """Headers in Chinese, text as text, numbers as numbers, days as dates."""
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(_report(list(rows)))))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["名称", "数量", "日期"]
    for index, (text, n, day) in enumerate(rows, start=2):
        assert (sheet.cell(index, 1).value or "") == text
        assert sheet.cell(index, 2).value == n
        assert sheet.cell(index, 3).value == datetime(day.year, day.month, day.day)


def test_english_headings_and_json() -> None:
    """--lang en gives English headings; JSON rows are keyed by column key."""
    report = _report([("a", 2, date(2026, 12, 3))])
    assert to_csv(report, "en").decode("utf-8-sig").splitlines()[0] == "Name,Count,Day"
    document = json.loads(to_json(report))
    assert document["tables"][0]["rows"] == [{"name": "a", "n": 2, "day": "2026-12-03"}]
    assert (document["from"], document["to"]) == ("2026-12-01", "2026-12-03")


def test_many_tables_get_sheets_and_sections() -> None:
    """Several tables: one sheet each (unique names), CSV sections with a title line."""
    one = Table("a", ("同名", "Same"), COLUMNS, [("x", 1, None)])
    two = Table("b", ("同名", "Same"), COLUMNS, [("y", 2, None)])
    report = Report("x", ("报表", "R"), (date(2026, 12, 1), date(2026, 12, 1)), "", (one, two))
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report)))
    assert book.sheetnames == ["同名", "同名 (2)"]
    text = to_csv(report).decode("utf-8-sig")
    assert text.splitlines()[:2] == ["同名", "名称,数量,日期"]
    assert "\r\n\r\n同名\r\n" in text
