"""A report (monthly or of any period) as CSV or XLSX, with Vietnamese labels and number formats (1.700).

Both are byte-stable: the same report gives the same bytes (XLSX is a zip; its
entries get a fixed time and the workbook a fixed creation date, the report's).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, time

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from contracts.http.metrics import MonthlyReport
from contracts.http.reports import PeriodReport

LABELS = {
    "loudspeaker_airings": "Lượt phát loa đã phát",
    "loudspeaker_planned": "Lượt phát loa theo kế hoạch",
    "loudspeaker_missed": "Lượt phát loa bị lỡ",
    "communes_reached": "Số xã được phát",
    "radio_airings": "Lượt phát thanh đã phát",
    "radio_planned": "Lượt phát thanh theo kế hoạch",
    "livestreams": "Số buổi livestream",
    "posts": "Số tin, bài",
    "views": "Lượt xem",
    "interactions": "Lượt tương tác",
    "shares": "Lượt chia sẻ",
    "comments": "Bình luận",
    "reach": "Lượt tiếp cận",
    "peak_viewers": "Người xem cao nhất",
    "code": "Mã xã",
    "languages": "Ngôn ngữ",
    "planned": "Kế hoạch",
    "aired": "Đã phát",
    "missed": "Bị lỡ",
    "communes": "Số xã",
    "page": "Trang",
    "date": "Thời gian",
    "status": "Trạng thái",
    "loudspeaker_partial": "Lượt phát loa phát một phần",
    "radio_missed": "Lượt phát thanh bị lỡ",
    "partial": "Phát một phần",
    "items": "Số tin, bài, video",
    "total": "Tổng",
    "loudspeaker_made_up": "Lượt phát loa bị lỡ đã phát bù",
    "made_up": "Đã phát bù",
}
SECTIONS = (
    ("loudspeaker_by_commune", "Loa truyền thanh theo xã", "Xã"),
    ("loudspeaker_by_language", "Loa truyền thanh theo ngôn ngữ", "Ngôn ngữ"),
    ("radio", "Phát thanh", "Chương trình"),
    ("livestreams", "Livestream", "Chương trình"),
    ("pages", "Trang mạng xã hội", "Trang"),
)
STATUS = {"aired": "đã phát", "ended": "đã kết thúc", "partial": "phát một phần", "missed": "bị lỡ",
          "scheduled": "đã lên lịch", "rescheduled": "đổi lịch", "live": "đang phát"}  # fmt: skip
PERIOD_SECTIONS = (
    ("by_language_and_month", "Loa theo ngôn ngữ và tháng", "Ngôn ngữ"),
    ("loudspeaker_by_commune", "Loa truyền thanh theo xã", "Xã"),
    ("radio", "Phát thanh", "Chương trình"),
    ("platforms", "Theo nền tảng", "Nền tảng"),
    ("livestreams", "Livestream", "Chương trình"),
)
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def vn_number(value: int) -> str:
    """1700 -> "1.700" (Vietnamese groups thousands with a dot)."""
    return f"{value:,}".replace(",", ".")


def _label(name: str) -> str:
    """A column's Vietnamese heading; a month column ``2022-01`` reads "Tháng 1/2022"."""
    if len(name) == 7 and name[4] == "-" and name[:4].isdigit() and name[5:].isdigit():
        return f"Tháng {int(name[5:])}/{name[:4]}"
    return LABELS.get(name, name)


def _shape(report: MonthlyReport | PeriodReport) -> tuple[tuple[tuple[str, str, str], ...], date]:
    """The report's sections and the date its workbook is stamped with."""
    if isinstance(report, PeriodReport):
        return PERIOD_SECTIONS, report.starts_on
    return SECTIONS, report.month


def _cell(name: str, value):
    if name == "status" and isinstance(value, str):
        return STATUS.get(value, value)
    return value


def to_csv(report: MonthlyReport | PeriodReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([report.title])
    writer.writerow(["Tổng hợp", "Số liệu"])
    for name, value in report.totals.items():
        writer.writerow([LABELS.get(name, name), vn_number(value)])
    sections, _ = _shape(report)
    for attribute, heading, first in sections:
        lines = getattr(report, attribute)
        writer.writerow([])
        writer.writerow([heading])
        names = list(lines[0].values) if lines else []
        writer.writerow([first, *(_label(n) for n in names)])
        for line in lines:
            writer.writerow(
                [line.label]
                + [
                    vn_number(v) if isinstance(v, int) else (_cell(n, v) or "")
                    for n, v in line.values.items()
                ]
            )
    # A BOM so that spreadsheet programs read the Vietnamese as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: MonthlyReport | PeriodReport) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Tổng hợp"
    bold = Font(bold=True)
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(["Chỉ tiêu", "Số liệu"])
    for cell in sheet[3]:
        cell.font = bold
    for name, value in report.totals.items():
        sheet.append([LABELS.get(name, name), value])
        sheet.cell(sheet.max_row, 2).number_format = "#,##0"
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 14
    sections, made_on = _shape(report)
    for attribute, heading, first in sections:
        lines = getattr(report, attribute)
        ws = book.create_sheet(heading[:31])
        names = list(lines[0].values) if lines else []
        ws.append([first, *(_label(n) for n in names)])
        for cell in ws[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True)
        for line in lines:
            ws.append([line.label, *(_cell(n, v) for n, v in line.values.items())])
            for column, value in enumerate(line.values.values(), start=2):
                if isinstance(value, int):
                    ws.cell(ws.max_row, column).number_format = "#,##0"  # shows 1.700 in Vietnamese Excel
        ws.column_dimensions["A"].width = 40
    made = datetime.combine(made_on, time())
    book.properties.created = made
    book.properties.modified = made
    book.properties.creator = "Loa"
    raw = io.BytesIO()
    book.save(raw)
    return _stable_zip(raw.getvalue(), made)


def _stable_zip(data: bytes, made: datetime) -> bytes:
    """The same archive with fixed entry times and modification date, so equal workbooks are equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = f"{made:%Y-%m-%dT%H:%M:%SZ}".encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the time of saving as the modification date.
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", content
                )
            fixed = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, content)
    return out.getvalue()
