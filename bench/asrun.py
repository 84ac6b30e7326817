"""As-run benchmarks: a year of paper logs entered at once, against the scheduler as a subprocess.

- 8,080 confirmations ("8,080 airings in three languages in 2022") in one ``POST /v1/confirmations``
  (target < 10 s; one request each took 76 s with 32 clients);
- an as-run log of 8,080 rows as XLSX through ``POST /v1/confirmations/as-run-log`` (target < 15 s).

The airings are planned first by fan-out: 129 communes x 3 languages x Mon/Wed/Fri over seven weeks.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date, datetime, timedelta
from io import BytesIO

import aiohttp
from openpyxl import Workbook

from bench.harness import Result, Timer, within
from bench.scheduler import (
    LANGUAGES,
    PLANNER,
    fan_out,
    fresh_scheduler,
    process,
    register_communes,
    until_listed,
)

N = 8_080
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def planned(session, base: str, communes: list[str], first: date, n: int) -> list[dict]:
    """Seven weeks of bulletins from ``first``; the first ``n`` of them, as listed."""
    await fan_out(
        session,
        base,
        {
            "title": "Bản tin BHXH tự nguyện",
            "communes": communes,
            "rule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
            "from_date": first.isoformat(),
            "to_date": (first + timedelta(weeks=7) - timedelta(days=1)).isoformat(),
            "window": 2,
            "duration_minutes": 15,
            "gap_minutes": 5,
        },
    )
    items: list[dict] = []
    end = (first + timedelta(weeks=7)).isoformat()
    await within(
        120, f"the read model lists {n:,} airings", until_listed(session, base, first.isoformat(), end, n)
    )
    while len(items) < n:
        params = {"from": first.isoformat(), "to": end, "limit": "1000", "offset": str(len(items))}
        async with session.get(f"{base}/v1/airings", params=params, headers=PLANNER) as r:
            page = (await r.json())["items"]
        if not page:
            raise RuntimeError(f"only {len(items)} airings listed of {n}")
        items += page
    return items[:n]


def outcome(i: int) -> tuple[str, str | None]:
    return (
        ("missed", "mất điện") if i % 50 == 0 else ("partial", "mưa to") if i % 25 == 0 else ("aired", None)
    )


def log_of(airings: list[dict], names: dict[str, str]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Ngày", "Giờ", "Xã", "Ngôn ngữ", "Kết quả", "Lý do"])
    said = {"aired": "đã phát", "partial": "phát một phần", "missed": "bị lỡ"}
    for i, a in enumerate(airings):
        start = datetime.fromisoformat(a["starts_at"])
        result, reason = outcome(i)
        sheet.append(
            [
                f"{start:%d/%m/%Y}",
                f"{start:%H:%M}",
                names[a["resource_id"]],
                a["language"],
                said[result],
                reason,
            ]
        )
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def run(dsn: str, quick: bool = False) -> list[Result]:
    n = 1_000 if quick else N
    port, env = await fresh_scheduler(dsn)
    base = f"http://127.0.0.1:{port}"
    results = []
    async with (
        process(["-m", "services.scheduler"], env, port),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session,
    ):
        communes = await register_communes(session, base, 129, LANGUAGES, "bench-asrun")
        names = {c: f"Xã bench-asrun {i}" for i, c in enumerate(communes)}

        airings = await planned(session, base, communes, date(2022, 1, 3), n)
        items = [
            {"airing_id": a["airing_id"], "outcome": o, "reason": r}
            for a, (o, r) in ((a, outcome(i)) for i, a in enumerate(airings))
        ]
        with Timer() as t:
            async with session.post(f"{base}/v1/confirmations", json={"items": items}, headers=PLANNER) as r:
                body = await r.json()
        assert r.status == 200 and body["confirmed"] == n, body if r.status != 200 else body["refused"]
        with Timer() as again:
            async with session.post(f"{base}/v1/confirmations", json={"items": items}, headers=PLANNER) as r:
                repeat = await r.json()
        assert repeat["already_confirmed"] == n, repeat["confirmed"]
        results.append(
            Result(
                f"bulk confirmations ({n:,}) in one request",
                "s",
                t.seconds,
                note=f"target < 10 s; the same items again: {again.seconds:.2f} s, nothing written",
            )
        )

        airings = await planned(session, base, communes, date(2022, 3, 7), n)
        data = log_of(airings, names)
        with Timer() as t:
            async with session.post(
                f"{base}/v1/confirmations/as-run-log", data=data, headers=PLANNER | {"Content-Type": XLSX}
            ) as r:
                body = await r.json()
        assert r.status == 200 and body["confirmed"] == n, body if r.status != 200 else body["items"][:3]
        results.append(
            Result(
                f"as-run log XLSX ({n:,} rows) uploaded",
                "s",
                t.seconds,
                note=f"target < 15 s; {len(data) / 1024:.0f} KiB",
            )
        )
    return results


if __name__ == "__main__":
    from bench.harness import table

    out = asyncio.run(run(sys.argv[1], quick="--quick" in sys.argv))
    print(table(out))
    for r in out:
        print(r.name, "—", r.note)
