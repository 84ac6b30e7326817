"""As-run logs and bulk confirmations, pure: rows read from CSV and XLSX, each confirmation's outcome."""

from datetime import date, time
from io import BytesIO

from openpyxl import Workbook, load_workbook

from contracts.events.schedule import Outcome
from services.scheduler.adapters import as_run_log
from services.scheduler.domain.as_run import ALREADY, CONFIRMED, REFUSED, confirm_all
from services.scheduler.domain.commands import ConfirmAiring
from tests.unit.scheduler.test_schedule import at, given, schedule


def test_a_csv_log_in_the_paper_layout_with_row_numbers():
    text = (
        "Ngày;Giờ;Xã;Ngôn ngữ;Kết quả;Lý do\n07/08/2023;17h30;Xã Ea Tu;Êđê;Bị lỡ;mất điện\n"
        ";;;;;\n2023-08-09;06:00;24133;;đã phát;\n31/02/2023;06:00;Xã Ea Tu;;đã phát;\n"
    )
    rows, bad = as_run_log.read(text.encode(), "text/csv")
    assert [(r.row, r.day, r.at, r.commune, r.language, r.outcome, r.reason) for r in rows] == [
        (2, date(2023, 8, 7), time(17, 30), "Xã Ea Tu", "Êđê", "missed", "mất điện"),
        (4, date(2023, 8, 9), time(6, 0), "24133", None, "aired", None),
    ]
    assert [(b.row, b.field) for b in bad] == [(5, "date")]


def test_an_xlsx_log_with_dates_and_times_as_cells_and_the_template():
    book = Workbook()
    sheet = book.active
    sheet.append(list(as_run_log.HEADINGS))
    sheet.append([date(2023, 8, 7), time(17, 30), "Xã Ea Tu", "Kinh", "phát một phần", "mưa to"])
    sheet.append(["07/08/2023", "25:00", "Xã Ea Tu", "Kinh", "đã phát", None])
    raw = BytesIO()
    book.save(raw)
    rows, bad = as_run_log.read(raw.getvalue(), as_run_log.XLSX)
    assert [(r.row, r.outcome, r.at) for r in rows] == [(2, "partial", time(17, 30))]
    assert [(b.row, b.field) for b in bad] == [(3, "time")]
    template = load_workbook(BytesIO(as_run_log.template())).active
    assert [c.value for c in template[1]] == list(as_run_log.HEADINGS)
    rows, bad = as_run_log.read(as_run_log.template(), as_run_log.XLSX)
    assert len(rows) == 1 and not bad  # the example row reads back


def test_each_confirmation_has_its_outcome_and_one_refusal_stops_none():
    a, b, c = schedule(day=7), schedule(day=8), schedule(day=9)
    state, _ = given(a, b, c)

    def confirm(airing, outcome=Outcome.aired, reason=None):
        return ConfirmAiring(airing.airing_id, outcome, "op", at(9, day=20), reason=reason)

    done = confirm_all(state, [confirm(a), confirm(b, Outcome.missed), confirm(c), confirm(a)])
    assert [o.status for o in done.outcomes] == [CONFIRMED, REFUSED, CONFIRMED, ALREADY]
    assert done.outcomes[1].field == "reason" and len(done.events) == 2
    again = confirm_all(done.state, [confirm(a), confirm(c, Outcome.missed, "mất điện")])
    assert [o.status for o in again.outcomes] == [ALREADY, REFUSED] and not again.events
