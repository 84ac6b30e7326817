"""A commune's as-run log as it is kept on paper, read from CSV or XLSX; and its blank template.

Columns, in this order, under one heading row: date (Ngày, 07/08/2023 or
2023-08-07), time (Giờ, 17:30), commune (Xã: its name, code or resource id),
language (Ngôn ngữ, may be empty), outcome (Kết quả: đã phát / phát một phần /
bị lỡ, or aired / partial / missed) and reason (Lý do). Rows are numbered as a
spreadsheet numbers them: the heading is row 1, the first record row 2.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

HEADINGS = ("Ngày", "Giờ", "Xã", "Ngôn ngữ", "Kết quả", "Lý do")
OUTCOMES = {
    "đã phát": "aired",
    "da phat": "aired",
    "aired": "aired",
    "phát": "aired",
    "phát một phần": "partial",
    "phat mot phan": "partial",
    "một phần": "partial",
    "partial": "partial",
    "bị lỡ": "missed",
    "bi lo": "missed",
    "không phát": "missed",
    "lỡ": "missed",
    "missed": "missed",
}
MAX_ROWS = 10_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class LogRow:
    row: int
    day: date
    at: time
    commune: str
    language: str | None
    outcome: str
    reason: str | None


@dataclass(frozen=True)
class BadRow:
    row: int
    field: str
    reason: str


class LogError(ValueError):
    """The file as a whole cannot be read (not CSV or XLSX, too many rows)."""


def read(data: bytes, content_type: str) -> tuple[list[LogRow], list[BadRow]]:
    """The log's rows, and those that cannot be read with their row number, field and reason."""
    cells = _xlsx_cells(data) if _is_xlsx(data, content_type) else _csv_cells(data)
    if len(cells) - 1 > MAX_ROWS:
        raise LogError(f"at most {MAX_ROWS:,} rows in one log; split it")
    good, bad = [], []
    for number, values in enumerate(cells[1:], start=2):
        if not any(v not in (None, "") for v in values):
            continue  # blank lines between days, as on paper
        try:
            good.append(_row(number, [*values, *[None] * 6][:6]))
        except _Bad as exc:
            bad.append(BadRow(number, exc.field, exc.reason))
    return good, bad


def template() -> bytes:
    """A blank log to fill in: the headings and one example row."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Nhật ký phát thanh"
    sheet.append(list(HEADINGS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.append(["07/08/2023", "17:30", "Xã Ea Tu", "Êđê", "bị lỡ", "mất điện cả buổi chiều"])
    for column, width in zip("ABCDEF", (12, 8, 28, 12, 16, 40), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason


def _is_xlsx(data: bytes, content_type: str) -> bool:
    return content_type == XLSX or data[:2] == b"PK"


def _xlsx_cells(data: bytes) -> list[list]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise LogError(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _csv_cells(data: bytes) -> list[list]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LogError("a CSV log must be UTF-8") from None
    dialect = (
        csv.excel_tab
        if text.count("\t") > text.count(",") and text.count("\t") > text.count(";")
        else (_semicolon if text.count(";") > text.count(",") else csv.excel)
    )
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


class _semicolon(csv.excel):
    delimiter = ";"


def _text(value) -> str:
    return unicodedata.normalize("NFC", str(value).strip()) if value is not None else ""


def _row(number: int, values: list) -> LogRow:
    day_cell, time_cell, commune, language, outcome, reason = values
    day = _day(day_cell)
    at = _time(time_cell)
    if not _text(commune):
        raise _Bad("commune", "name the commune (its name, code or resource id)")
    said = _text(outcome).lower()
    if said not in OUTCOMES:
        raise _Bad("outcome", "đã phát, phát một phần or bị lỡ (aired, partial or missed)")
    return LogRow(
        number, day, at, _text(commune), _text(language) or None, OUTCOMES[said], _text(reason) or None
    )


def _day(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for form in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y"):
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise _Bad("date", f"{text!r} is not a day (07/08/2023 or 2023-08-07)")


def _time(value) -> time:
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    text = _text(value).replace("h", ":").replace("g", ":")
    for form in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.strptime(text, form).time().replace(second=0)
        except ValueError:
            continue
    raise _Bad("time", f"{_text(value)!r} is not a time of day (17:30)")
