"""Report benchmarks: a yearly report over 8,080 loudspeaker airings ("8,080 airings in three
languages in 2022") and the year's as-run log, in JSON, CSV and XLSX.

The statistics tables are filled from contract events through the metrics projection (no service,
no broker): what is timed is the report itself — its queries over one generation and its formats.
Target: < 2 s per format, and the same bytes twice.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from bench.harness import Result, Timer, median
from contracts.events.metrics import SampleRecorded
from contracts.events.reference import ResourceDescribed
from contracts.events.schedule import AiringConfirmed, AiringKind, AiringScheduled, Outcome
from services.eventstore.postgres import create_pool
from services.metrics.adapters.projection import StatisticsProjection
from services.metrics.adapters.report_formats import to_csv, to_xlsx
from services.metrics.adapters.reports import period_report
from services.metrics.adapters.statistics_tables import create_tables
from services.metrics.app.queries import ReportScope
from services.metrics.domain.period import parse_period

SCHEMA = "bench_reports"
AIRINGS = 8_080


def the_year(n: int) -> list:
    """Resources and a year of bulletins in Kinh, Êđê and M'nông, most aired, some partly, a few missed;
    posts on two pages with their figures."""
    rng = random.Random(2022)
    events: list = []
    communes = []
    for i in range(129):
        languages = ["Kinh"] + (["Êđê"] if i % 6 == 0 else []) + (["M'nông"] if i % 9 == 0 else [])
        rid = f"loudspeaker:bench-{i:03d}"
        communes.append((rid, languages))
        events.append(
            ResourceDescribed(
                resource_id=rid,
                description={
                    "type": "commune",
                    "name": f"Xã Buôn {i:03d}",
                    "province": "dak-lak",
                    "code": f"24{i:03d}",
                    "languages": languages,
                },
            )
        )
    for page, platform in (("page:facebook:bench", "facebook"), ("page:zalo:bench", "zalo")):
        events.append(
            ResourceDescribed(
                resource_id=page,
                description={
                    "type": "page",
                    "name": f"Trang {platform}",
                    "province": "dak-lak",
                    "platform": platform,
                },
            )
        )
    slots = [(rid, language) for rid, languages in communes for language in languages]
    start = datetime(2021, 12, 31, 22, 0, tzinfo=UTC)
    for k in range(n):
        rid, language = slots[k % len(slots)]
        at = start + timedelta(days=(k // len(slots)) * 365 / (n / len(slots)), minutes=20 * (k % 3))
        airing_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        events.append(
            AiringScheduled(
                airing_id=airing_id,
                kind=AiringKind.loudspeaker,
                resource_id=rid,
                starts_at=at,
                ends_at=at + timedelta(minutes=15),
                title="Bản tin BHXH",
                language=language,
            )
        )
        roll = rng.random()
        outcome = Outcome.aired if roll < 0.92 else Outcome.partial if roll < 0.96 else Outcome.missed
        events.append(
            AiringConfirmed(
                airing_id=airing_id,
                resource_id=rid,
                outcome=outcome,
                operator="bench",
                reason=None if outcome is Outcome.aired else "mất điện",
                confirmed_at=at + timedelta(hours=1),
            )
        )
    for k in range(48):
        page = "page:facebook:bench" if k % 6 else "page:zalo:bench"
        at = start + timedelta(days=7 * k)
        airing_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        events.append(
            AiringScheduled(
                airing_id=airing_id,
                kind=AiringKind.post,
                resource_id=page,
                starts_at=at,
                ends_at=at + timedelta(minutes=1),
                title="Tin BHXH",
            )
        )
        events.append(
            SampleRecorded(
                airing_id=airing_id,
                sampled_at=at + timedelta(days=1),
                source="bench",
                counters={"reach": 500 + k, "views": 100 + k, "shares": k},
            )
        )
    return events


async def run(dsn: str, quick: bool = False) -> list[Result]:
    n = 1_000 if quick else AIRINGS
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"drop schema if exists {SCHEMA} cascade")
            await create_tables(conn, SCHEMA)
            events = [(e.wire_name, e.schema_version, e.model_dump(mode="json")) for e in the_year(n)]
            async with conn.transaction():
                await StatisticsProjection(SCHEMA, bulk=True).apply_all(conn, events)
            await conn.execute(f"analyze {SCHEMA}.airings; analyze {SCHEMA}.figures")
            period = parse_period("2022")
            results = []
            for form, render in (
                ("json", lambda r: orjson.dumps(r.model_dump(mode="json"), option=orjson.OPT_INDENT_2)),
                ("csv", to_csv),
                ("xlsx", to_xlsx),
            ):
                times, bodies = [], []
                for _ in range(1 if quick else 3):
                    with Timer() as t:
                        report = await period_report(
                            conn, SCHEMA, period, ReportScope(province="dak-lak"), position=0
                        )
                        bodies.append(render(report))
                    times.append(t.seconds)
                assert report.totals["loudspeaker_planned"] == n, report.totals
                same = all(b == bodies[0] for b in bodies)
                results.append(
                    Result(
                        f"yearly report, {n:,} airings, {form}",
                        "s",
                        median(times),
                        note=f"target < 2 s; same bytes each time: {same}; {len(bodies[0]):,} bytes",
                    )
                )
            await conn.execute(f"drop schema {SCHEMA} cascade")
            return results
    finally:
        await pool.close()


if __name__ == "__main__":
    import asyncio
    import sys

    from bench.harness import table

    print(table(asyncio.run(run(sys.argv[1], quick="--quick" in sys.argv))))
