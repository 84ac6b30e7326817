"""The one place the pages talk to Loa: the scheduler's and the metrics service's public HTTP APIs.

Every call carries the signed-in user's own token, so a page can never do what
the API refuses; every write carries an ``Idempotency-Key`` so a retried form or
a confirmation sent again after a lost connection writes once. When an API
changes (bulk confirmations, history, reports for any period, link tokens),
this module is the one to follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import aiohttp
import orjson

from services.common.api_call import answer_body, request_parts


class ApiDown(Exception):
    """A service did not answer (connection refused, timeout, 502/503/504): the page says so (503)."""


@dataclass
class ApiProblem(Exception):
    """The API refused the request: its status and RFC 9457 problem body, shown to the user as they are."""

    status: int
    body: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    @property
    def title(self) -> str:
        return str(self.body.get("title") or "")

    @property
    def detail(self) -> str:
        return str(self.body.get("detail") or "")

    @property
    def errors(self) -> list[dict[str, str]]:
        return list(self.body.get("errors") or [])

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return list(self.body.get("conflicts") or [])


@dataclass
class Answer:
    """A successful answer: the JSON (or bytes for downloads), and whether it replays an earlier one."""

    status: int
    body: Any
    replayed: bool = False
    content_type: str = "application/json"


class LoaApi:
    """The scheduler and metrics APIs as one typed facade; ``token`` is the caller's bearer token."""

    def __init__(self, session: aiohttp.ClientSession, scheduler_url: str, metrics_url: str) -> None:
        self.session = session
        self.scheduler = scheduler_url.rstrip("/")
        self.metrics = metrics_url.rstrip("/")

    async def _call(
        self,
        method: str,
        url: str,
        token: str,
        body: Any = None,
        *,
        key: str | None = None,
        params: dict[str, Any] | None = None,
        forwarded_for: str | None = None,
    ) -> Answer:
        headers, data = request_parts(token, body, key)
        if forwarded_for:  # the browser's address, for limits kept per client (code redemption)
            headers["X-Forwarded-For"] = forwarded_for
        query = {k: str(v) for k, v in (params or {}).items() if v not in (None, "")}
        try:
            async with self.session.request(method, url, data=data, headers=headers, params=query) as r:
                raw = await r.read()
                is_json = r.content_type.endswith("json")
                if r.status in (502, 503, 504):
                    raise ApiDown(f"{method} {url}: {r.status}")
                if r.status >= 400:
                    problem = (
                        orjson.loads(raw) if raw and is_json else {"title": raw.decode(errors="replace")}
                    )
                    # The API's own failure is not the user's: a bad gateway, never our 500.
                    raise ApiProblem(502 if r.status >= 500 else r.status, problem)
                payload = answer_body(raw, r.content_type)
                return Answer(
                    r.status, payload, r.headers.get("Idempotent-Replayed") == "true", r.content_type
                )
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise ApiDown(f"{method} {url}: {exc}") from None

    async def _get(self, base: str, path: str, token: str, **params: Any) -> Any:
        return (await self._call("GET", base + path, token, params=params)).body

    async def _every(self, base: str, path: str, token: str, **params: Any) -> list:
        """Every item of a keyset-paginated list, page after page."""
        items, cursor = [], None
        while True:
            page = await self._get(base, path, token, **params, limit=1000, cursor=cursor)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    # -- who is this (the API's own answer: a bad or expired token is refused there) -----------

    async def check_token(self, token: str) -> None:
        """Raises ApiProblem(401) when the scheduler refuses the token."""
        # A province no campaign has: the cheapest read the scheduler authenticates.
        await self._call("GET", self.scheduler + "/v1/campaigns", token, params={"province": "kiem-tra-ma"})

    # -- resources --------------------------------------------------------------------------

    async def resources(self, token: str, *, province: str | None = None, type: str | None = None) -> list:
        return await self._every(self.scheduler, "/v1/resources", token, province=province, type=type)

    async def resource(self, token: str, resource_id: str) -> dict:
        return await self._get(self.scheduler, f"/v1/resources/{resource_id}", token)

    async def put_resource(self, token: str, resource_id: str, description: dict) -> Answer:
        return await self._call("PUT", f"{self.scheduler}/v1/resources/{resource_id}", token, description)

    # -- campaigns ----------------------------------------------------------------------------

    async def campaigns(self, token: str, *, province: str | None = None) -> list:
        return await self._every(self.scheduler, "/v1/campaigns", token, province=province)

    async def campaign(self, token: str, campaign_id: UUID | str) -> dict:
        return await self._get(self.scheduler, f"/v1/campaigns/{campaign_id}", token)

    async def create_campaign(self, token: str, body: dict, key: str) -> Answer:
        return await self._call("POST", f"{self.scheduler}/v1/campaigns", token, body, key=key)

    async def progress(self, token: str, campaign_id: UUID | str) -> dict:
        return await self._get(self.scheduler, f"/v1/campaigns/{campaign_id}/progress", token)

    # -- airings ------------------------------------------------------------------------------

    async def airings(self, token: str, **filters: Any) -> dict:
        """``GET /v1/airings`` with its filters (resource_id, campaign_id, kind, from, to, limit …)."""
        return await self._get(self.scheduler, "/v1/airings", token, **filters)

    async def airing(self, token: str, airing_id: UUID | str) -> dict:
        return await self._get(self.scheduler, f"/v1/airings/{airing_id}", token)

    async def history(self, token: str, airing_id: UUID | str) -> list:
        """Every event of an airing, oldest first (``GET /v1/airings/{id}/history``, all pages)."""
        return await self._every(self.scheduler, f"/v1/airings/{airing_id}/history", token)

    async def restore_bumped(self, token: str, emergency_id: str, key: str) -> Answer:
        """Give the airings this emergency bumped their slots back: one result per airing."""
        url = f"{self.scheduler}/v1/airings/{emergency_id}/restore-bumped"
        return await self._call("POST", url, token, {}, key=key)

    async def plan_airing(self, token: str, body: dict, key: str) -> Answer:
        return await self._call("POST", f"{self.scheduler}/v1/airings", token, body, key=key)

    async def reschedule(self, token: str, airing_id: str, body: dict, key: str) -> Answer:
        url = f"{self.scheduler}/v1/airings/{airing_id}/reschedule"
        return await self._call("POST", url, token, body, key=key)

    async def cancel(self, token: str, airing_id: str, body: dict, key: str) -> Answer:
        return await self._call(
            "POST", f"{self.scheduler}/v1/airings/{airing_id}/cancel", token, body, key=key
        )

    async def run_sheet(self, token: str, resource_id: str, day: date) -> dict:
        return await self._get(self.scheduler, f"/v1/resources/{resource_id}/run-sheet", token, date=day)

    async def confirm(self, token: str, airing_id: str, body: dict, key: str) -> Answer:
        url = f"{self.scheduler}/v1/airings/{airing_id}/confirmation"
        return await self._call("POST", url, token, body, key=key)

    # -- plans ----------------------------------------------------------------------------

    async def series(self, token: str, body: dict, key: str) -> Answer:
        return await self._call("POST", f"{self.scheduler}/v1/series", token, body, key=key)

    async def fan_out(self, token: str, body: dict, key: str | None) -> Answer:
        """A fan-out; with ``"dry_run": true`` in the body, what it would plan and what is in the way."""
        return await self._call("POST", f"{self.scheduler}/v1/fan-outs", token, body, key=key)

    def calendar_url(self, resource_id: str) -> str:
        """The resource's iCalendar feed (a phone's calendar adds ``?token=``)."""
        return f"{self.scheduler}/v1/resources/{resource_id}/calendar.ics"

    async def calendar_link(self, token: str, resource_id: str) -> str:
        """The feed with a read-only link token for it alone (``GET /v1/links``): a phone's calendar
        keeps its address in clear, so it must never hold the operator's own token, which writes."""
        feed = f"/v1/resources/{resource_id}/calendar.ics"
        link = await self._get(self.scheduler, "/v1/links", token, feed=feed)
        return self.scheduler + link["url"]

    # -- figures ----------------------------------------------------------------------------

    async def report(self, token: str, *, period: str | None = None, province: str | None = None,
                     campaign_id: str | None = None, format: str = "json", **span: str | None,
                     ) -> Answer:  # fmt: skip
        """``GET /v1/reports``: ``period`` (2023-08, 2023-Q3, 2022) or ``span`` ``from``/``to`` (days)."""
        params = {"period": period, "province": province, "campaign_id": campaign_id, "format": format}
        params |= span
        return await self._call("GET", f"{self.metrics}/v1/reports", token, params=params)

    def dashboard_url(self) -> str:
        return f"{self.metrics}/dashboard"

    # -- the manager's dashboard, passed through ------------------------------------------------

    async def metrics_get(self, token: str, path: str, params: dict[str, str]) -> Answer:
        """A read of the metrics API for the dashboard page, as it is."""
        return await self._call("GET", self.metrics + path, token, params=params)

    def metrics_stream(self, token: str, params: dict[str, str], last_event_id: str | None):
        """The live feed (Server-Sent Events) opened with the caller's token, for passing through."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        return self.session.get(self.metrics + "/v1/stream", params=params, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=None, sock_connect=3))  # fmt: skip

    # -- series ---------------------------------------------------------------------------------

    async def series_of(self, token: str, series_id: str) -> dict:
        return await self._get(self.scheduler, f"/v1/series/{series_id}", token)

    async def revise_series(self, token: str, series_id: str, body: dict, key: str) -> Answer:
        """Change this and following occurrences (``scope=following``) or the whole series (``all``)."""
        url = f"{self.scheduler}/v1/series/{series_id}/revision"
        return await self._call("POST", url, token, body, key=key)

    async def end_series(self, token: str, series_id: str, body: dict, key: str) -> Answer:
        return await self._call("POST", f"{self.scheduler}/v1/series/{series_id}/end", token, body, key=key)
