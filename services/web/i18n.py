"""Vietnamese by default, English as a switch: gettext catalogues, and Babel for dates and numbers.

The catalogues are the ``.po`` files under ``locale/``; they are compiled in
memory at start-up (no build step, no binary ``.mo`` in the repository).
Times are shown in Vietnam time (``contracts.localtime``).
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from contracts.localtime import to_local

LOCALE_DIR = Path(__file__).parent / "locale"
STATUSES = {
    "scheduled": "Chờ phát", "aired": "Đã phát", "partial": "Phát một phần", "missed": "Không phát",
    "cancelled": "Đã hủy", "bumped": "Bị tin khẩn thay thế", "live": "Đang trực tiếp", "ended": "Đã kết thúc",
}  # fmt: skip
"""An airing's status as the pages say it (msgids of the catalogues)."""
LANGUAGES = ("vi", "en")
DEFAULT = "vi"


def load_catalogues(folder: Path = LOCALE_DIR) -> dict[str, gettext.NullTranslations]:
    """Each language's translations, compiled from its ``messages.po``."""
    catalogues: dict[str, gettext.NullTranslations] = {}
    for language in LANGUAGES:
        po = folder / language / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            catalogues[language] = gettext.NullTranslations()
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)
        compiled.seek(0)
        catalogues[language] = gettext.GNUTranslations(compiled)
    return catalogues


def pick_language(cookie: str | None) -> str:
    """The user's choice (a cookie) when it names a catalogue; otherwise Vietnamese."""
    return cookie if cookie in LANGUAGES else DEFAULT


@dataclass(frozen=True)
class Formats:
    """Numbers, dates and times as a reader of ``language`` writes them (1.700; thứ Sáu 25/08/2023)."""

    language: str

    def number(self, value: int | float | None) -> str:
        if value is None:
            return "–"
        return format_decimal(value, locale=self.language)

    def day(self, value: date) -> str:
        """``thứ Sáu 25/08/2023`` (``Friday 25/08/2023``)."""
        text = format_date(value, "EEEE dd/MM/yyyy", locale=self.language)
        if self.language != "vi":
            return text
        # Mid-sentence Vietnamese writes "thứ Sáu" but always "Chủ nhật".
        return "Chủ nhật" + text[8:] if value.isoweekday() == 7 else "t" + text[1:]

    def short_day(self, value: date) -> str:
        """``T6 25/08`` in Vietnamese, ``Fri 25/08`` in English."""
        if self.language == "vi":
            weekday = "CN" if value.isoweekday() == 7 else f"T{value.isoweekday() + 1}"
            return f"{weekday} {value:%d/%m}"
        return format_date(value, "EEE dd/MM", locale=self.language)

    def month(self, value: date) -> str:
        return f"tháng {value.month}/{value.year}" if self.language == "vi" else f"{value:%m/%Y}"

    def time(self, value: datetime | str | None) -> str:
        """A stored instant (or the API's ISO text) as Vietnam wall-clock ``17:30``."""
        if value is None:
            return ""
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        # 24-hour HH:mm in both languages; strftime is ~50x cheaper than Babel for a calendar's 1,000 times.
        return to_local(instant).strftime("%H:%M")

    def local(self, value: datetime | str) -> datetime:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        return to_local(instant)
