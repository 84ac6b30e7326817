"""Report periods: month, quarter, year, from/to, within 2000 … 2100 (no IO)."""

from datetime import date

import pytest

from services.metrics.domain.period import PeriodError, parse_period


def test_a_month_a_quarter_a_year_and_a_range():
    month, quarter, year = parse_period("2023-08"), parse_period("2023-Q3"), parse_period("2022")
    assert (month.start, month.end, month.name) == (date(2023, 8, 1), date(2023, 9, 1), "tháng 8/2023")
    assert (quarter.start, quarter.end, quarter.name) == (date(2023, 7, 1), date(2023, 10, 1), "quý III/2023")
    assert (year.start, year.end, year.name) == (date(2022, 1, 1), date(2023, 1, 1), "năm 2022")
    assert year.months() == [f"2022-{m:02d}" for m in range(1, 13)]
    span = parse_period(None, "2023-08-05", "2023-09-04")
    assert (span.start, span.end, span.last) == (date(2023, 8, 5), date(2023, 9, 5), date(2023, 9, 4))
    assert span.months() == ["2023-08", "2023-09"] and span.label == "2023-08-05..2023-09-04"
    assert parse_period("2023-Q4").end == date(2024, 1, 1)


@pytest.mark.parametrize(
    ("period", "start", "end", "field"),
    [
        ("1999", None, None, "period"),
        ("2101-01", None, None, "period"),
        ("2023-13", None, None, "period"),
        ("2023-Q5", None, None, "period"),
        ("tháng 8", None, None, "period"),
        (None, None, None, "period"),
        (None, "2023-08-01", None, "to"),
        (None, "2023-09-01", "2023-08-01", "to"),
        (None, "1999-12-31", "2000-01-02", "from"),
        (None, "2023-02-30", "2023-03-01", "from"),
        ("2023", "2023-01-01", "2023-02-01", "period"),
    ],
)
def test_a_bad_period_names_its_field(period, start, end, field):
    with pytest.raises(PeriodError) as caught:
        parse_period(period, start, end)
    assert caught.value.field == field and caught.value.reason
