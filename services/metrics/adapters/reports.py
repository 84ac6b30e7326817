"""The monthly report of a province or a campaign, as communication centres write them.

"Tuyên truyền qua hệ thống loa cơ sở với 664 lần phát thanh cho 129 xã": the
report counts loudspeaker airings that aired, per commune and per language,
the radio segments per programme ("Câu chuyện chính sách" in "Giờ thứ 9"),
the livestreams with their final counters, and each page's totals over its
posts and livestreams ("fanpage đăng tải 40 tin, bài, video thu hút hơn 21.500
lượt tiếp cận"). Names sort
in Vietnamese alphabetical order (Bình before Buôn, Đắk after Cư, Êđê before
Kinh), as a centre's own report would list them. It is built
from one generation of the read model, fully ordered, so the same log gives the
same report byte for byte, in every format.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import asyncpg

from contracts.http.metrics import MonthlyReport, ReportLine
from contracts.http.reports import PeriodReport
from contracts.localtime import VIETNAM
from services.common.provinces import province_name
from services.common.sql import VIETNAMESE, where
from services.metrics.adapters.status_sql import PARTIAL_SQL, aired_sql, made_up_sql, missed_sql, planned_sql
from services.metrics.app.queries import ReportScope
from services.metrics.domain.period import Period, month_period

COUNTERS = ("views", "interactions", "shares", "comments", "reach", "peak_viewers")


def _scope(period: Period, scope: ReportScope) -> tuple[str, list[Any]]:
    """The SQL condition (over airings a, resources r) of a report's airings, and its arguments:
    those starting on the period's days (local midnight to local midnight), within ``scope``."""
    return where(
        (
            ("a.starts_at", datetime.combine(period.start, time(), VIETNAM), ">="),
            ("a.starts_at", datetime.combine(period.end, time(), VIETNAM), "<"),
            ("r.province", scope.province, "="),
            ("a.campaign_id", scope.campaign_id, "="),
            ("a.resource_id", scope.commune, "="),
            ("a.language", scope.language, "="),
            ("r.platform", scope.platform, "="),
        )
    )


async def monthly_report(
    conn: asyncpg.Connection,
    schema: str,
    month: date,
    *,
    province: str | None = None,
    campaign_id: UUID | None = None,
    position: int,
) -> MonthlyReport:
    period = month_period(month)
    clause, args = _scope(period, ReportScope(province=province, campaign_id=campaign_id))
    title = await _title(conn, schema, period, province, campaign_id)
    aired = aired_sql(schema)
    communes = await _by_resource(conn, schema, clause, args, "loudspeaker")
    languages = await conn.fetch(
        f"""select coalesce(a.language, '—') as language,
                   count(*) filter (where {aired}) as aired,
                   count(distinct a.resource_id) filter (where {aired}) as communes
            from {_source(schema)} {clause} and a.kind = 'loudspeaker'
            group by 1 order by coalesce(a.language, '—') {VIETNAMESE}""",
        *args,
    )
    programmes = await _by_resource(conn, schema, clause, args, "radio")
    content = await _published(conn, schema, clause, args)
    livestreams = [row for row in content if row["kind"] == "livestream"]
    pages = _published_by(content, "page", COUNTERS)
    totals = {k: v for k, v in _totals(communes, programmes, pages).items() if k not in PERIOD_ONLY} | {
        name: sum(p[name] for p in pages.values()) for name in COUNTERS
    }
    return MonthlyReport(
        title=title,
        month=month.replace(day=1),
        province=province,
        campaign_id=campaign_id,
        as_of_position=position,
        totals=totals,
        loudspeaker_by_commune=[
            _resource_line(r, MONTHLY_COUNTS, code=r["code"], languages=r["languages"]) for r in communes
        ],
        loudspeaker_by_language=[
            ReportLine(label=r["language"], values={"aired": r["aired"], "communes": r["communes"]})
            for r in languages
        ],
        radio=[_resource_line(r, MONTHLY_COUNTS) for r in programmes],
        livestreams=[livestream_line(r) for r in livestreams],
        pages=[ReportLine(label=name, values=values) for name, values in sorted(pages.items())],
    )


async def _title(
    conn: asyncpg.Connection, schema: str, period: Period, province: str | None, campaign_id: UUID | None
) -> str:
    """A report's title, as a centre's own names it: the campaign's, or the province's, and the period."""
    if campaign_id is not None:
        name = await conn.fetchval(f"select name from {schema}.campaigns where campaign_id = $1", campaign_id)
        return f"Báo cáo chiến dịch {name or campaign_id} — {period.name}"
    return f"Báo cáo công tác truyền thông {period.name}" + (
        f" — {province_name(province)}" if province else ""
    )


PLATFORM_COUNTERS = ("reach", "views", "interactions", "shares", "comments")


async def period_report(
    conn: asyncpg.Connection, schema: str, period: Period, scope: ReportScope, *, position: int
) -> PeriodReport:
    """The report of any period: loudspeakers by commune and by language and month, radio, each
    platform on its own line, livestreams; the same log gives the same report."""
    clause, args = _scope(period, scope)
    aired = aired_sql(schema)
    communes = await _by_resource(conn, schema, clause, args, "loudspeaker")
    cells = await conn.fetch(
        f"""select coalesce(a.language, '—') as language,
                   to_char(a.starts_at at time zone 'Asia/Ho_Chi_Minh', 'YYYY-MM') as month,
                   count(*) filter (where {aired}) as aired
            from {_source(schema)} {clause} and a.kind = 'loudspeaker' and {planned_sql(schema)}
            group by 1, 2 order by coalesce(a.language, '—') {VIETNAMESE}, 2""",
        *args,
    )
    programmes = await _by_resource(conn, schema, clause, args, "radio")
    content = await _published(conn, schema, clause, args)
    months = period.months()
    table: dict[str, dict[str, int]] = {}
    for row in cells:
        table.setdefault(row["language"], dict.fromkeys(months, 0))[row["month"]] = row["aired"]
    platforms = _published_by(content, "platform", PLATFORM_COUNTERS, items=True)

    livestreams = [row for row in content if row["kind"] == "livestream"]
    return PeriodReport(
        title=await _title(conn, schema, period, scope.province, scope.campaign_id),
        period=period.label,
        starts_on=period.start,
        ends_on=period.last,
        province=scope.province,
        campaign_id=scope.campaign_id,
        commune=scope.commune,
        language=scope.language,
        platform=scope.platform,
        as_of_position=position,
        totals=_totals(communes, programmes, platforms),
        by_language_and_month=[
            ReportLine(label=name, values=dict(values) | {"total": sum(values.values())})
            for name, values in table.items()
        ],
        loudspeaker_by_commune=[_resource_line(r, AIRING_COUNTS, code=r["code"]) for r in communes],
        radio=[_resource_line(r, AIRING_COUNTS) for r in programmes],
        platforms=[ReportLine(label=PLATFORMS.get(k, k), values=v) for k, v in sorted(platforms.items())],
        livestreams=[livestream_line(r) for r in livestreams],
    )


AIRING_COUNTS = ("planned", "aired", "partial", "missed", "made_up")
"""A commune's or a programme's counts in a period report."""
MONTHLY_COUNTS = ("planned", "aired", "missed")
"""The same in the monthly report, older, as centres have read it."""


def _resource_line(r, counts: tuple[str, ...], **first: Any) -> ReportLine:
    """A commune's or a programme's line: ``first`` (its code …), then its airing ``counts``."""
    return ReportLine(label=r["name"], values=first | {k: r[k] for k in counts})


def livestream_line(r) -> ReportLine:
    """A livestream's line in every report: its page, local start, status and final counters."""
    return ReportLine(
        label=r["title"],
        values={
            "page": r["page"],
            "date": f"{r['starts_at'].astimezone(VIETNAM):%d/%m/%Y %H:%M}",
            "status": r["status"],
        }
        | {c: r["counters"].get(c, 0) for c in COUNTERS},
    )


PLATFORMS = {"facebook": "Facebook", "zalo": "Zalo", "youtube": "YouTube", "tiktok": "TikTok"}


PERIOD_ONLY = frozenset({"loudspeaker_partial", "radio_missed"})
"""Totals a period report shows and the monthly report, older, does not."""


def _totals(communes: list, programmes: list, published: dict[str, dict[str, int]]) -> dict[str, int]:
    """A report's airing totals: loudspeakers over the communes' lines, radio over the programmes',
    livestreams and posts over the pages' (or the platforms')."""
    return {
        "loudspeaker_airings": sum(r["aired"] for r in communes),
        "loudspeaker_partial": sum(r["partial"] for r in communes),
        "loudspeaker_planned": sum(r["planned"] for r in communes),
        "loudspeaker_missed": sum(r["missed"] for r in communes),
        "loudspeaker_made_up": sum(r["made_up"] for r in communes),
        "communes_reached": sum(1 for r in communes if r["aired"]),
        "radio_airings": sum(r["aired"] for r in programmes),
        "radio_planned": sum(r["planned"] for r in programmes),
        "radio_missed": sum(r["missed"] for r in programmes),
        "livestreams": sum(p["livestreams"] for p in published.values()),
        "posts": sum(p["posts"] for p in published.values()),
    }


def _published_by(
    content: list, key: str, counters: tuple[str, ...], *, items: bool = False
) -> dict[str, dict[str, int]]:
    """What each page (or platform, by ``key``) published: posts (tin, bài, video) and livestreams,
    each counted once it aired (a post from its confirmation or its first sample), and ``counters``
    summed over them; ``items``: both together as well, first."""
    empty = ({"items": 0} if items else {}) | {"posts": 0, "livestreams": 0} | dict.fromkeys(counters, 0)
    lines: dict[str, dict[str, int]] = {}
    for row in content:
        line = lines.setdefault(row[key], dict(empty))
        line["posts" if row["kind"] == "post" else "livestreams"] += int(row["aired"])
        for name in counters:
            line[name] += row["counters"].get(name, 0)
    if items:
        for line in lines.values():
            line["items"] = line["posts"] + line["livestreams"]
    return lines


def _source(schema: str) -> str:
    return f"{schema}.airings a left join {schema}.resources r on r.resource_id = a.resource_id"


async def _by_resource(
    conn: asyncpg.Connection, schema: str, clause: str, args: list[Any], kind: str
) -> list:
    """Per resource of ``kind`` (a commune's loudspeakers, a programme), in Vietnamese order of its
    name: airings planned, aired, partly aired, missed and made up, and the languages used."""
    kind_param = f"${len(args) + 1}"
    return await conn.fetch(
        f"""select coalesce(r.name, a.resource_id) as name, r.code, a.resource_id,
                   count(*) filter (where {planned_sql(schema)}) as planned,
                   count(*) filter (where {aired_sql(schema)}) as aired,
                   count(*) filter (where {PARTIAL_SQL}) as partial,
                   count(*) filter (where {missed_sql(schema)}) as missed,
                   count(*) filter (where {made_up_sql(schema)}) as made_up,
                   string_agg(distinct a.language, ', ' order by a.language) as languages
            from {_source(schema)} {clause} and a.kind = {kind_param}
            group by 1, 2, 3 order by coalesce(r.name, a.resource_id) {VIETNAMESE}, 3""",
        *args,
        kind,
    )


async def _published(conn: asyncpg.Connection, schema: str, clause: str, args: list[Any]) -> list:
    """The livestreams and posts planned, in time order, each with its page, its platform, whether
    it counts as aired (a post: confirmed, or sampled) and its figures."""
    figures = f"""(select jsonb_object_agg(f.counter, f.value) from {schema}.figures f
                   where f.airing_id = a.airing_id)"""
    return await conn.fetch(
        f"""select a.airing_id, a.kind, a.title, coalesce(r.name, a.resource_id) as page,
                   coalesce(r.platform, '—') as platform, a.starts_at, a.status, {aired_sql(schema)} as aired,
                   coalesce({figures}, '{{}}') as counters
            from {_source(schema)} {clause} and a.kind in ('livestream', 'post') and {planned_sql(schema)}
            order by a.starts_at, a.airing_id""",
        *args,
    )
