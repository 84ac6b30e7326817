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

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from contracts.http.metrics import MonthlyReport, ReportLine
from services.common.localtime import VIETNAM
from services.common.provinces import province_name
from services.common.sql import VIETNAMESE
from services.metrics.status_sql import MISSED_SQL, PLANNED_SQL, aired_sql

COUNTERS = ("views", "interactions", "shares", "comments", "reach", "peak_viewers")


def month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(), VIETNAM), datetime.combine(following, time(), VIETNAM)


async def monthly_report(
    conn: asyncpg.Connection,
    schema: str,
    month: date,
    *,
    province: str | None = None,
    campaign_id: UUID | None = None,
    position: int,
) -> MonthlyReport:
    start, end = month_bounds(month)
    where = ["a.starts_at >= $1", "a.starts_at < $2"]
    args: list[Any] = [start, end]
    if province is not None:
        args.append(province)
        where.append(f"r.province = ${len(args)}")
    if campaign_id is not None:
        args.append(campaign_id)
        where.append(f"a.campaign_id = ${len(args)}")
    clause = " and ".join(where)
    source = f"{schema}.airings a left join {schema}.resources r on r.resource_id = a.resource_id"
    title = await _title(conn, schema, month, province, campaign_id)
    aired = aired_sql(schema)

    communes = await conn.fetch(
        f"""select coalesce(r.name, a.resource_id) as name, r.code, a.resource_id,
                   count(*) filter (where {PLANNED_SQL}) as planned,
                   count(*) filter (where {aired}) as aired,
                   count(*) filter (where {MISSED_SQL}) as missed,
                   string_agg(distinct a.language, ', ' order by a.language) as languages
            from {source} where a.kind = 'loudspeaker' and {clause}
            group by 1, 2, 3 order by coalesce(r.name, a.resource_id) {VIETNAMESE}, 3""",
        *args,
    )
    languages = await conn.fetch(
        f"""select coalesce(a.language, '—') as language,
                   count(*) filter (where {aired}) as aired,
                   count(distinct a.resource_id) filter (where {aired}) as communes
            from {source} where a.kind = 'loudspeaker' and {clause}
            group by 1 order by coalesce(a.language, '—') {VIETNAMESE}""",
        *args,
    )
    programmes = await conn.fetch(
        f"""select coalesce(r.name, a.resource_id) as name, a.resource_id,
                   count(*) filter (where {PLANNED_SQL}) as planned,
                   count(*) filter (where {aired}) as aired,
                   count(*) filter (where {MISSED_SQL}) as missed
            from {source} where a.kind = 'radio' and {clause}
            group by 1, 2 order by coalesce(r.name, a.resource_id) {VIETNAMESE}, 2""",
        *args,
    )
    figures = f"""(select jsonb_object_agg(f.counter, f.value) from {schema}.figures f
                   where f.airing_id = a.airing_id)"""
    content = await conn.fetch(
        f"""select a.airing_id, a.kind, a.title, coalesce(r.name, a.resource_id) as page, a.starts_at,
                   a.status, {aired} as aired, coalesce({figures}, '{{}}') as counters
            from {source} where a.kind in ('livestream', 'post') and {clause}
              and {PLANNED_SQL}
            order by a.starts_at, a.airing_id""",
        *args,
    )
    livestreams = [row for row in content if row["kind"] == "livestream"]
    # A page's line holds everything it published: posts (tin, bài, video) and livestreams, each
    # counted once it aired (a post from its confirmation or its first sample).
    pages: dict[str, dict[str, int]] = {}
    for row in content:
        page = pages.setdefault(row["page"], {"posts": 0, "livestreams": 0} | {c: 0 for c in COUNTERS})
        page["posts" if row["kind"] == "post" else "livestreams"] += int(row["aired"])
        for name in COUNTERS:
            page[name] += row["counters"].get(name, 0)

    aired_loudspeaker = sum(r["aired"] for r in communes)
    totals = {
        "loudspeaker_airings": aired_loudspeaker,
        "loudspeaker_planned": sum(r["planned"] for r in communes),
        "loudspeaker_missed": sum(r["missed"] for r in communes),
        "communes_reached": sum(1 for r in communes if r["aired"]),
        "radio_airings": sum(r["aired"] for r in programmes),
        "radio_planned": sum(r["planned"] for r in programmes),
        "livestreams": sum(p["livestreams"] for p in pages.values()),
        "posts": sum(p["posts"] for p in pages.values()),
    } | {name: sum(p[name] for p in pages.values()) for name in COUNTERS}
    return MonthlyReport(
        title=title,
        month=month.replace(day=1),
        province=province,
        campaign_id=campaign_id,
        as_of_position=position,
        totals=totals,
        loudspeaker_by_commune=[
            ReportLine(
                label=r["name"],
                values={
                    "code": r["code"],
                    "languages": r["languages"],
                    "planned": r["planned"],
                    "aired": r["aired"],
                    "missed": r["missed"],
                },
            )
            for r in communes
        ],
        loudspeaker_by_language=[
            ReportLine(label=r["language"], values={"aired": r["aired"], "communes": r["communes"]})
            for r in languages
        ],
        radio=[
            ReportLine(
                label=r["name"],
                values={
                    "planned": r["planned"],
                    "aired": r["aired"],
                    "missed": r["missed"],
                },
            )
            for r in programmes
        ],
        livestreams=[
            ReportLine(
                label=r["title"],
                values={
                    "page": r["page"],
                    "date": f"{r['starts_at'].astimezone(VIETNAM):%d/%m/%Y %H:%M}",
                    "status": r["status"],
                }
                | {c: r["counters"].get(c, 0) for c in COUNTERS},
            )
            for r in livestreams
        ],
        pages=[ReportLine(label=name, values=values) for name, values in sorted(pages.items())],
    )


async def _title(
    conn: asyncpg.Connection, schema: str, month: date, province: str | None, campaign_id: UUID | None
) -> str:
    when = f"tháng {month.month}/{month.year}"
    if campaign_id is not None:
        name = await conn.fetchval(f"select name from {schema}.campaigns where campaign_id = $1", campaign_id)
        return f"Báo cáo chiến dịch {name or campaign_id} — {when}"
    return f"Báo cáo công tác truyền thông {when}" + (f" — {province_name(province)}" if province else "")
