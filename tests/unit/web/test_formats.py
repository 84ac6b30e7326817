"""Numbers and dates as Vietnamese readers write them, and the catalogues cover every page's text."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

from services.web.i18n import STATUSES, Formats, load_catalogues

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "web" / "templates"


def test_vietnamese_numbers_and_days():
    vi = Formats("vi")
    assert vi.number(1700) == "1.700"
    assert vi.number(21500) == "21.500"
    assert vi.day(date(2023, 8, 25)) == "thứ Sáu 25/08/2023"
    assert vi.day(date(2026, 12, 6)) == "Chủ nhật 06/12/2026"
    assert vi.short_day(date(2023, 8, 25)) == "T6 25/08"
    assert Formats("en").number(1700) == "1,700"


def test_times_are_shown_in_vietnam_time():
    assert Formats("vi").time(datetime(2023, 8, 25, 10, 30, tzinfo=UTC)) == "17:30"
    assert Formats("vi").time("2023-08-25T17:30:00+07:00") == "17:30"


def test_every_text_of_the_pages_has_an_english_translation():
    english = load_catalogues()["en"]
    texts = {
        m.group(2)
        for p in TEMPLATES.glob("*.html")
        for m in re.finditer(r"""_\((["'])(.+?)\1\)""", p.read_text())
    }
    assert len(texts) > 100
    texts |= set(STATUSES.values())
    missing = sorted(t for t in texts if english.gettext(t) == t and t not in {"Livestream"})
    assert not missing, missing
