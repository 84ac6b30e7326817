"""Load the demo province through Loa's public HTTP API, as its planners, operators and collectors would.

Everything goes through the API (never into tables), and every write is either
a PUT or a POST with an ``Idempotency-Key``, and confirmations are only sent
for airings still unconfirmed: loading twice changes nothing.

What it loads:

- August 2023, as the seed reports it: the "BHYT học sinh, sinh viên" campaign,
  a Friday bulletin fanned out to the 129 communes in each of their languages
  (664 airings), a few missed and made up the next morning, "Câu chuyện chính
  sách" in "Giờ thứ 9" every weekday, and the fanpage livestream whose counters
  end at 1.700 views, 778 interactions, 139 shares and 105 comments;
- the current month of "Luật BHXH năm 2024": a Tuesday-morning bulletin in every
  commune (confirmed up to now), the weekly radio segment since January 2025,
  and a livestream on the fanpage that is live now, for the simulator to count.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp

from contracts.localtime import VIETNAM, to_local
from services.common.auth import issue
from services.demo import province as demo
from services.demo.as_run import as_run
from services.demo.client import Api, ApiError, gather_limited
from services.demo.counters import replay, split

MAKE_UP = "Phát bù: "


@dataclass(frozen=True)
class Tokens:
    """Bearer tokens of the demo's people, signed with the services' secret."""

    secret: str

    @property
    def planner(self) -> str:
        return issue(self.secret, demo.CENTRE, "planner", province=demo.PROVINCE)

    @property
    def collector(self) -> str:
        return issue(self.secret, "Bộ thu số liệu mạng xã hội", "collector")

    @property
    def viewer(self) -> str:
        return issue(self.secret, "Bảng điều khiển", "viewer")

    def operator(self, resource_id: str) -> str:
        return issue(self.secret, f"Cán bộ vận hành {resource_id}", "operator", resources=[resource_id])


def local(value: str) -> datetime:
    """A time from an API answer, in Vietnam."""
    return to_local(datetime.fromisoformat(value))


class Loader:
    def __init__(
        self,
        scheduler: Api,
        metrics: Api,
        tokens: Tokens,
        *,
        now: datetime | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.scheduler = scheduler
        self.metrics = metrics
        self.tokens = tokens
        self.now = to_local(now or datetime.now(UTC))
        self.say = say
        self.confirmed = 0  # new as-run records this run gave: none on a rerun
        self.planner = tokens.planner

    # -- reference data ----------------------------------------------------------------

    async def register(self) -> list[demo.Commune]:
        communes = demo.communes()
        puts = [(c.resource_id, c.description()) for c in communes] + list(demo.OTHER_RESOURCES.items())
        await gather_limited(
            [self.scheduler.call("PUT", f"/v1/resources/{rid}", self.planner, body) for rid, body in puts]
        )
        self.say(f"{len(communes)} communes, Giờ thứ 9, fanpage and Zalo page registered")
        return communes

    async def campaign(self, campaign: demo.Campaign, communes: list[demo.Commune]) -> str:
        body = campaign.definition([c.resource_id for c in communes])
        made = await self.scheduler.call("POST", "/v1/campaigns", self.planner, body, key=campaign.key)
        return made["campaign_id"]

    # -- planning ----------------------------------------------------------------------

    async def fan_out(self, key: str, body: dict) -> int:
        result = await self.scheduler.call("POST", "/v1/fan-outs", self.planner, body, key=key)
        if result["unplaceable"] or result["skipped"]:
            raise RuntimeError(
                f"fan-out {key} left communes out: {result['unplaceable'] or result['skipped']}"
            )
        return result["planned"]

    async def series(self, key: str, body: dict) -> None:
        await self.scheduler.call("POST", "/v1/series", self.planner, body, key=key)

    async def livestream(self, key: str, body: dict) -> dict:
        body = {"kind": "livestream", "resource_id": demo.FANPAGE} | body
        try:
            return await self.scheduler.call("POST", "/v1/airings", self.planner, body, key=key)
        except ApiError as error:
            conflicts = error.body.get("conflicts", []) if isinstance(error.body, dict) else []
            if error.status != 409 or not conflicts:
                raise
            # Another livestream of the demo already holds the page at that time: that one it is.
            held = conflicts[0]["airing_id"]
            return await self.scheduler.call("GET", f"/v1/airings/{held}", self.planner)

    async def airings(self, start: date, end: date, **filters: str) -> list[dict]:
        """Every airing starting in [start, end), from the scheduler's read model, in start order."""
        items: list[dict] = []
        cursor: dict[str, str] = {}
        while True:
            page = await self.scheduler.call(
                "GET",
                "/v1/airings",
                self.planner,
                params={"from": start.isoformat(), "to": end.isoformat(), "limit": 1000} | cursor | filters,
            )
            items += page["items"]
            if not page.get("next_cursor"):
                return items
            cursor = {"cursor": page["next_cursor"]}

    async def until_listed(self, start: date, end: date, expected: int, **filters: str) -> list[dict]:
        deadline = time.monotonic() + 60
        while True:
            items = await self.airings(start, end, **filters)
            if len(items) >= expected or time.monotonic() > deadline:
                return items
            await asyncio.sleep(0.3)

    # -- operators ---------------------------------------------------------------------

    async def confirm_month(self, airings: list[dict], campaign_id: str) -> None:
        """Operators report each airing that has ended; a missed bulletin is made up the next morning."""
        bulletins = [a for a in airings if a["kind"] == "loudspeaker" and not a["title"].startswith(MAKE_UP)]
        bulletins.sort(key=lambda a: (a["starts_at"], a["resource_id"], a["language"] or ""))
        others = [a for a in airings if a["kind"] == "radio"]
        calls = []
        for index, airing in enumerate(bulletins):
            record = as_run(index)
            if record.make_up:
                calls.append(self.missed_and_made_up(airing, record.reason, campaign_id))
            else:
                calls.append(self.report(airing, record.outcome, record.reason, record.late_minutes))
        for index, airing in enumerate(sorted(others, key=lambda a: a["starts_at"])):
            record = as_run(index)
            calls.append(self.report(airing, record.outcome, record.reason, record.late_minutes))
        await gather_limited(calls)

    async def report(self, airing: dict, outcome: str, reason: str | None, late: int = 0) -> None:
        # An as-run record is of the past: a late airing still on air is confirmed at the next run.
        if (
            airing["status"] not in ("scheduled", "rescheduled")
            or local(airing["ends_at"]) + timedelta(minutes=late) > self.now
        ):
            return
        starts, ends = local(airing["starts_at"]), local(airing["ends_at"])
        body: dict[str, Any] = {"outcome": outcome}
        if outcome != "missed":
            body["actual_start"] = (starts + timedelta(minutes=late)).isoformat()
            body["actual_end"] = (ends + timedelta(minutes=late)).isoformat()
        if reason:
            body["reason"] = reason
        token = self.tokens.operator(airing["resource_id"])
        _, replayed = await self.scheduler.call(
            "POST",
            f"/v1/airings/{airing['airing_id']}/confirmation",
            token,
            body,
            key=f"demo-{airing['airing_id']}",
            with_replayed=True,
        )
        # An airing answered from an earlier run's replay still shows "scheduled": its
        # confirmation is replayed too, and nothing new was said.
        self.confirmed += not replayed

    async def missed_and_made_up(self, airing: dict, reason: str | None, campaign_id: str) -> None:
        if local(airing["ends_at"]) > self.now:
            return  # not over yet: its as-run record, and its make-up, come with a later run
        # A make-up names its missed airing, which must be confirmed missed first.
        await self.report(airing, "missed", reason)
        await self.make_up(airing, campaign_id)

    async def make_up(self, missed: dict, campaign_id: str) -> None:
        """The missed bulletin again the next morning, naming the airing it makes up (``makeup_of``),
        so reports count the miss once, as made up."""
        starts = local(missed["starts_at"])
        morning = datetime.combine(starts.date() + timedelta(days=1), datetime.min.time(), VIETNAM)
        body = {
            "kind": "loudspeaker",
            "resource_id": missed["resource_id"],
            "starts_at": (morning + timedelta(hours=6)).isoformat(),
            "duration_minutes": 15,
            "title": MAKE_UP + missed["title"],
            "language": missed["language"],
            "campaign_id": campaign_id,
            "script": missed.get("script"),
            "makeup_of": missed["airing_id"],
        }
        airing = await self.scheduler.call(
            "POST", "/v1/airings", self.planner, body, key=f"demo-make-up-{missed['airing_id']}"
        )
        await self.report(airing, "aired", None)

    # -- collectors --------------------------------------------------------------------

    async def samples(self, airing_id: str, readings: list[tuple[datetime, dict[str, int]]]) -> None:
        items = [
            {"airing_id": airing_id, "sampled_at": at.isoformat(), "source": "facebook", "counters": counters}
            for at, counters in readings
            if at <= self.now
        ]
        if items:
            await self.post_samples(items)

    async def post_samples(self, items: list[dict], patience: float = 60) -> None:
        """Post readings; those of airings the metrics service has not heard of yet wait and go again.

        The scheduler's events reach the metrics service through RabbitMQ, a moment after
        the planner's request returned: a collector that counts a brand-new airing may be early.
        """
        deadline = time.monotonic() + patience
        while items:
            result = await self.metrics.call("POST", "/v1/samples", self.tokens.collector, {"items": items})
            early = [r for r in result["rejected"] if r["field"] == "airing_id" and "is known" in r["reason"]]
            if len(early) != len(result["rejected"]) or (early and time.monotonic() > deadline):
                raise RuntimeError(f"samples rejected: {result['rejected']}")
            items = [items[r["index"]] for r in early]
            if items:
                await asyncio.sleep(0.5)

    async def posts(
        self, resource_id: str, days: list[int], totals: dict[str, int], source: str, campaign_id: str
    ) -> None:
        """A page's posts of August 2023, confirmed by its operator, with figures adding up to the seed's."""
        seen = Counter()
        planned = []
        for index, day in enumerate(days):
            seen[day] += 1
            hour = "08:00" if seen[day] == 1 else "15:30"
            body = {
                "kind": "post",
                "resource_id": resource_id,
                "starts_at": f"2023-08-{day:02d}T{hour}",
                "duration_minutes": 1,
                "title": demo.POST_TITLES[index % len(demo.POST_TITLES)],
                "campaign_id": campaign_id,
            }
            key = f"demo-post-{resource_id}-2023-08-{day:02d}-{seen[day]}"
            planned.append(self.scheduler.call("POST", "/v1/airings", self.planner, body, key=key))
        made = await gather_limited(planned)
        await gather_limited([self.report(post, "aired", None) for post in made])
        # Earlier posts had longer to gather readers: weights fall with the day of the month.
        weights = [40 - day + (index % 5) for index, day in enumerate(days)]
        figures = {name: split(total, weights) for name, total in totals.items()}
        items = [
            {
                "airing_id": post["airing_id"],
                "sampled_at": (local(post["starts_at"]) + timedelta(days=1)).isoformat(),
                "source": source,
                "counters": {name: figures[name][index] for name in totals},
            }
            for index, post in enumerate(made)
        ]
        await self.post_samples(items)

    # -- the story -----------------------------------------------------------------------

    async def august_2023(self, communes: list[demo.Commune]) -> None:
        campaign_id = await self.campaign(demo.BHYT_HSSV, communes)
        planned = await self.fan_out(
            "demo-dak-lak-2023-08-bhyt-hssv",
            {
                "title": "Bản tin BHYT học sinh, sinh viên",
                "topic": demo.BHYT_HSSV.topic,
                "campaign_id": campaign_id,
                "rule": demo.AUGUST_RULE,
                "from_date": "2023-08-01",
                "to_date": "2023-08-31",
                "window": 2,
                "duration_minutes": 15,
                "gap_minutes": 5,
                "scripts": demo.BULLETIN_SCRIPTS,
            },
        )
        await self.series(
            "demo-gio-thu-9-2023-08",
            {
                "resource_id": demo.RADIO,
                "kind": "radio",
                "campaign_id": campaign_id,
                "rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20230831",
                "first_start": "2023-08-01T21:00",
                "duration_minutes": 15,
                "title": "Câu chuyện chính sách: BHYT học sinh, sinh viên",
            },
        )
        stream = await self.livestream(
            "demo-livestream-2023-08-24", demo.AUGUST_LIVESTREAM | {"campaign_id": campaign_id}
        )
        weekdays = 23  # weekdays of August 2023
        listed = await self.until_listed(date(2023, 8, 1), date(2023, 9, 1), planned + weekdays + 1)
        await self.confirm_month(listed, campaign_id)
        await self.report(stream, "aired", None)
        await self.samples(
            stream["airing_id"],
            replay(
                local(stream["starts_at"]),
                demo.AUGUST_LIVESTREAM["duration_minutes"],
                demo.AUGUST_LIVESTREAM_FINAL,
            ),
        )
        await self.posts(
            demo.FANPAGE, demo.FANPAGE_POST_DAYS, demo.FANPAGE_POSTS_TOTAL, "facebook", campaign_id
        )
        await self.posts(demo.ZALO, demo.ZALO_POST_DAYS, demo.ZALO_POSTS_TOTAL, "zalo", campaign_id)
        self.say(
            f"August 2023: {planned} bulletins fanned out, radio, livestream {stream['airing_id']}, "
            f"{len(demo.FANPAGE_POST_DAYS)} fanpage and {len(demo.ZALO_POST_DAYS)} Zalo posts"
        )

    async def this_month(self, communes: list[demo.Commune]) -> None:
        campaign_id = await self.campaign(demo.LUAT_BHXH, communes)
        first = self.now.date().replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        planned = await self.fan_out(
            f"demo-dak-lak-{first:%Y-%m}-luat-bhxh",
            {
                "title": "Bản tin Luật BHXH năm 2024",
                "topic": demo.LUAT_BHXH.topic,
                "campaign_id": campaign_id,
                "rule": "FREQ=WEEKLY;BYDAY=TU",
                "from_date": first.isoformat(),
                "to_date": (following - timedelta(days=1)).isoformat(),
                "window": 1,
                "duration_minutes": 15,
                "gap_minutes": 5,
                "scripts": demo.LAW_SCRIPTS,
            },
        )
        await self.series(
            "demo-gio-thu-9-luat-bhxh",
            {
                "resource_id": demo.RADIO,
                "kind": "radio",
                "campaign_id": campaign_id,
                "rule": "FREQ=WEEKLY;BYDAY=TH",
                "first_start": "2025-01-02T21:00",
                "duration_minutes": 15,
                "title": "Câu chuyện chính sách: Luật BHXH năm 2024",
            },
        )
        listed = await self.until_listed(first, following, planned, kind="loudspeaker")
        radio = await self.airings(date(2025, 1, 1), self.now.date() + timedelta(days=1), kind="radio")
        await self.confirm_month(listed + radio, campaign_id)
        await self.live_now(campaign_id)
        self.say(f"{first:%m/%Y}: {planned} bulletins of Luật BHXH năm 2024, radio since 01/2025")

    async def live_now(self, campaign_id: str) -> None:
        """The fanpage's livestream of the hour, gone live so that the simulator has something to count."""
        hour = self.now.replace(minute=0, second=0, microsecond=0)
        stream = await self.livestream(
            f"demo-livestream-{hour:%Y-%m-%dT%H}",
            {
                "title": "Hỏi đáp trực tuyến: Luật BHXH năm 2024 và BHXH tự nguyện",
                "starts_at": hour.isoformat(),
                "duration_minutes": 180,
                "campaign_id": campaign_id,
            },
        )
        if stream["status"] in ("scheduled", "rescheduled"):
            operator = self.tokens.operator(demo.FANPAGE)
            url = "https://www.facebook.com/bhxhdaklak/live"
            stream = await self.scheduler.call(
                "POST", f"/v1/airings/{stream['airing_id']}/live", operator, {"url": url}
            )

    async def august_report(self, timeout: float = 120) -> dict:
        """Wait until the metrics service has taken everything in, then read August's report."""
        deadline = time.monotonic() + timeout
        params = {"month": "2023-08", "province": demo.PROVINCE}
        while True:
            report = await self.metrics.call("GET", "/v1/reports/monthly", self.tokens.viewer, params=params)
            totals = report["totals"]
            if (
                totals["loudspeaker_airings"] >= demo.AUGUST_AIRED
                and totals["views"] >= 1700 + demo.ZALO_POSTS_TOTAL["views"]
                and totals["reach"] >= demo.FANPAGE_POSTS_TOTAL["reach"]
            ) or time.monotonic() > deadline:
                return report
            await asyncio.sleep(0.5)

    async def run(self) -> dict:
        """Load the demo; the answer is August 2023's report."""
        communes = await self.register()
        await self.august_2023(communes)
        await self.this_month(communes)
        report = await self.august_report()
        t = report["totals"]
        live = report["livestreams"][0]["values"] if report["livestreams"] else {}
        pages = {line["label"]: line["values"] for line in report["pages"]}
        fanpage = pages.get(demo.OTHER_RESOURCES[demo.FANPAGE]["name"], {})
        self.say(
            f"August 2023 report: {t['loudspeaker_airings']} loudspeaker airings in {t['communes_reached']} "
            f"communes; livestream {live.get('views')} views, {live.get('interactions')} interactions, "
            f"{live.get('shares')} shares, {live.get('comments')} comments; fanpage "
            f"{fanpage.get('posts', 0) + fanpage.get('livestreams', 0)} items, {fanpage.get('reach')} reach, "
            f"{fanpage.get('interactions')} interactions; {self.confirmed} new confirmations in this run"
        )
        return report


async def load(scheduler_url: str, metrics_url: str, secret: str, **options: Any) -> dict:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        loader = Loader(Api(session, scheduler_url), Api(session, metrics_url), Tokens(secret), **options)
        return await loader.run()
