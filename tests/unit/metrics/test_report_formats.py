"""Report formats: Vietnamese numbers and labels, byte-stable CSV and XLSX (no IO)."""

from datetime import date
from io import BytesIO

from openpyxl import load_workbook

from contracts.http.metrics import MonthlyReport, ReportLine
from services.metrics.adapters.report_formats import to_csv, to_xlsx, vn_number

REPORT = MonthlyReport(
    title="Báo cáo công tác truyền thông tháng 8/2023 — dien-bien",
    month=date(2023, 8, 1),
    province="dien-bien",
    as_of_position=42,
    totals={"loudspeaker_airings": 664, "communes_reached": 129, "livestreams": 1, "views": 1700},
    loudspeaker_by_commune=[ReportLine(label="Xã Mường Phăng", values={"code": "03268", "aired": 5})],
    loudspeaker_by_language=[ReportLine(label="Kinh", values={"aired": 664, "communes": 129})],
    livestreams=[ReportLine(label="Livestream BHYT HSSV", values={"views": 1700, "status": "ended"})],
    pages=[],
)


def test_vietnamese_numbers_group_thousands_with_a_dot():
    assert [vn_number(n) for n in (0, 664, 1700, 21500, 1234567)] == [
        "0",
        "664",
        "1.700",
        "21.500",
        "1.234.567",
    ]


def test_csv_has_vietnamese_labels_and_numbers():
    text = to_csv(REPORT).decode("utf-8-sig")
    assert "Lượt phát loa đã phát,664" in text
    assert "Số xã được phát,129" in text
    assert "Livestream BHYT HSSV,1.700,đã kết thúc" in text
    assert to_csv(REPORT) == to_csv(REPORT)


def test_xlsx_keeps_numbers_as_numbers_and_is_byte_stable():
    body = to_xlsx(REPORT)
    assert body == to_xlsx(REPORT)
    book = load_workbook(BytesIO(body))
    summary = book["Tổng hợp"]
    assert summary["A4"].value == "Lượt phát loa đã phát" and summary["B4"].value == 664
    assert summary["B4"].number_format == "#,##0"
    assert book["Loa truyền thanh theo xã"]["A2"].value == "Xã Mường Phăng"
