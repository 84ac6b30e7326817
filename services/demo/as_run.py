"""What the demo's operators report for each airing: most air on time, some late, a few go wrong.

Deterministic by the airing's place in the month's ordered plan, so that every
load of the demo tells the same story and reports the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

MISSED_REASONS = (
    "mất điện cả buổi chiều",
    "loa cụm thôn 3 hỏng, đang chờ sửa",
    "mưa giông, cắt điện để bảo đảm an toàn",
    "cán bộ truyền thanh đi tập huấn, không có người phát",
)
PARTIAL_REASON = "mất tín hiệu giữa chừng, phát được khoảng nửa bản tin"


@dataclass(frozen=True)
class AsRun:
    """An operator's as-run record, and whether the planner schedules a make-up airing."""

    outcome: str
    reason: str | None = None
    late_minutes: int = 0
    make_up: bool = False


def as_run(index: int) -> AsRun:
    """The record for the ``index``-th airing of a month (0-based, in start order).

    One in fifty is missed (and made up the next morning), one in sixty-one airs
    only partly, one in twenty-three starts late; the rest air as planned.
    """
    if index % 50 == 7:
        return AsRun("missed", MISSED_REASONS[index // 50 % len(MISSED_REASONS)], make_up=True)
    if index % 61 == 11:
        return AsRun("partial", PARTIAL_REASON)
    if index % 23 == 5:
        return AsRun(
            "aired", "phát muộn do chờ điện" if index % 2 else "phát muộn", late_minutes=5 + index % 11
        )
    return AsRun("aired")
