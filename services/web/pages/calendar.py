"""The calendar: a week or a month of airings for a commune, programme, page or campaign, coloured by
kind and status; an airing opens in place (htmx) with its details, move and cancel."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup, escape
from multidict import MultiDictProxy

from contracts.localtime import VIETNAM
from services.web.client import ApiProblem
from services.web.i18n import STATUSES
from services.web.pages.common import api, form_key, gettext, new_key, reraise_signed_out, signed_in, writing
from services.web.sessions import Session

routes = web.RouteTableDef()
LIMIT = 1000
EVENTS = {
    "AiringScheduled": "Lên lịch", "AiringRescheduled": "Dời giờ", "AiringCancelled": "Hủy",
    "AiringBumped": "Bị tin khẩn thay thế", "AiringRestored": "Khôi phục",
    "AiringContentChanged": "Đổi nội dung",
    "LivestreamWentLive": "Bắt đầu trực tiếp", "LivestreamEnded": "Kết thúc trực tiếp",
    "AiringConfirmed": "Xác nhận phát", "ConfirmationCorrected": "Sửa xác nhận",
}  # fmt: skip
"""An airing's events as the history says them (msgids of the catalogues); others show their type."""


def span(view: str, day: date) -> tuple[date, date]:
    """The first and last day shown: Monday to Sunday of the week, or whole weeks covering the month."""
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    month_first = day.replace(day=1)
    next_month = (month_first + timedelta(days=32)).replace(day=1)
    first = month_first - timedelta(days=month_first.weekday())
    last = next_month - timedelta(days=1)
    return first, last + timedelta(days=6 - last.weekday())


def step(view: str, day: date, forward: bool) -> date:
    if view == "week":
        return day + timedelta(days=7 if forward else -7)
    month_first = day.replace(day=1)
    if forward:
        return (month_first + timedelta(days=32)).replace(day=1)
    return (month_first - timedelta(days=1)).replace(day=1)


def cell(
    airings: list[dict], names: dict[str, str], statuses: dict[str, str], *, by_campaign: bool
) -> Markup:
    """One day's airings as buttons that open their details in place.

    Built here rather than in the template: a campaign's month is ~1,000 buttons, and Jinja's
    attribute lookups made that page three times slower than this.
    """
    buttons = []
    for a in airings:
        what = names.get(a["resource_id"], a["resource_id"]) if by_campaign else a["title"]
        language = f" · {a['language']}" if a.get("language") else ""
        starts = datetime.fromisoformat(a["starts_at"]).astimezone(VIETNAM)
        buttons.append(
            f'<button type="button" class="ev kind-{escape(a["kind"])} status-{escape(a["status"])}" '
            f'hx-get="/desk/airings/{escape(a["airing_id"])}" hx-target="#details" '
            f'title="{escape(statuses.get(a["status"], a["status"]))}">'
            f"{starts:%H:%M} {escape(what)}{escape(language)}</button>"
        )
    return Markup("\n".join(buttons))


@routes.get("/desk/calendar")
async def calendar(request: web.Request) -> web.Response:
    session = signed_in(request)
    client = api(request)
    q = request.query
    view = "week" if q.get("view") == "week" else "month"
    today = datetime.now(VIETNAM).date()
    try:
        day = date.fromisoformat(q["date"]) if q.get("date") else today
    except ValueError:
        day = today
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):  # the range Loa plans in
        day = today
    first, last = span(view, day)
    resource_id, campaign_id = q.get("resource_id") or None, q.get("campaign_id") or None
    resources, campaigns = await asyncio.gather(
        client.resources(session.token, province=session.province),
        client.campaigns(session.token, province=session.province),
    )
    # Only what the lists name (a typed id the API does not know would only come back as an error).
    resource_id = resource_id if any(r["resource_id"] == resource_id for r in resources) else None
    campaign_id = campaign_id if any(c["campaign_id"] == campaign_id for c in campaigns) else None
    page = {"items": [], "total": 0}
    if resource_id or campaign_id:
        page = await client.airings(
            session.token,
            resource_id=resource_id,
            campaign_id=campaign_id,
            **{"from": first.isoformat(), "to": (last + timedelta(days=1)).isoformat()},
            limit=LIMIT,
            total="true",
        )
    by_day: dict[date, list] = {}
    for airing in page["items"]:
        local = datetime.fromisoformat(airing["starts_at"]).astimezone(VIETNAM).date()
        by_day.setdefault(local, []).append(airing)
    names = {r["resource_id"]: r["name"] for r in resources}
    say = gettext(request)
    statuses = {code: say(text) for code, text in STATUSES.items()}
    cells = {d: cell(items, names, statuses, by_campaign=bool(campaign_id)) for d, items in by_day.items()}
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return aiohttp_jinja2.render_template(
        "calendar.html",
        request,
        {
            "view": view,
            "day": day,
            "days": days,
            "cells": cells,
            "resources": resources,
            "campaigns": campaigns,
            "resource_id": resource_id,
            "campaign_id": campaign_id,
            "total": page["total"],
            "shown": len(page["items"]),
            "previous": step(view, day, False),
            "next": step(view, day, True),
        },
    )


def _said(value: object) -> str:
    """A history's changed value as a reader reads it: an instant in Vietnam time, the rest as it is."""
    if isinstance(value, str) and len(value) >= 16 and value[4] == "-" and value[10] == "T":
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is not None:
            return f"{instant.astimezone(VIETNAM):%d/%m/%Y %H:%M}"
    return str(value)


def _history(entries: list[dict]) -> list[dict]:
    return [e | {"changes": {k: _said(v) for k, v in e["changes"].items()}} for e in entries]


async def _bumped_by(request: web.Request, token: str, emergency: dict) -> list[dict]:
    """The airings an emergency bumped: bumped ones on its resource that overlap it and name it."""
    if emergency.get("priority") != "emergency":
        return []
    starts = datetime.fromisoformat(emergency["starts_at"])
    page = await api(request).airings(
        token,
        resource_id=emergency["resource_id"],
        status="bumped",
        limit=LIMIT,
        # An airing it bumped overlaps it, so it starts before it ends and at most a day before it.
        **{"from": (starts - timedelta(days=1)).isoformat(), "to": emergency["ends_at"]},
    )
    return [a for a in page["items"] if a.get("bumped_by") == emergency["airing_id"]]


async def _details(
    request: web.Request, airing_id: str, problem: ApiProblem | None = None, notice=None, restored=None
):
    session = signed_in(request)
    client = api(request)
    airing, history = await asyncio.gather(
        client.airing(session.token, airing_id), client.history(session.token, airing_id)
    )
    bumped = await _bumped_by(request, session.token, airing)
    context = {
        "a": airing,
        "history": _history(history),
        "events": EVENTS,
        "bumped": bumped,
        "restored": restored,
    }
    return aiohttp_jinja2.render_template(
        "_airing.html", request, context | {"problem": problem, "notice": notice, "key": new_key()}
    )


async def _airing_form(request: web.Request) -> tuple[Session, str, MultiDictProxy]:
    """A planner's form about one airing: the writer's session (CSRF-checked), the airing, the form."""
    session = await writing(request)
    return session, request.match_info["airing_id"], await request.post()


async def _answer(request: web.Request, airing_id: str, call, **shown) -> web.Response:
    """The airing's panel after an API call: its problem when the API refused (a lapsed session
    goes to sign-in), else what ``shown`` says (a notice, or restore results from the answer)."""
    try:
        answer = await call
    except ApiProblem as problem:
        reraise_signed_out(problem)
        return await _details(request, airing_id, problem)
    if shown.pop("restored", False):
        shown["restored"] = answer.body
    return await _details(request, airing_id, **shown)


@routes.post("/desk/airings/{airing_id}/restore-bumped")
async def restore_bumped(request: web.Request) -> web.Response:
    """Give the airings this emergency bumped their slots back, and say what became of each."""
    session, airing_id, form = await _airing_form(request)
    call = api(request).restore_bumped(session.token, airing_id, form_key(form))
    return await _answer(request, airing_id, call, restored=True)


@routes.get("/desk/airings/{airing_id}")
async def details(request: web.Request) -> web.Response:
    return await _details(request, request.match_info["airing_id"])


@routes.post("/desk/airings/{airing_id}/move")
async def move(request: web.Request) -> web.Response:
    session, airing_id, form = await _airing_form(request)
    body = {
        "starts_at": f"{form.get('date')}T{form.get('time')}",
        "reason": str(form.get("reason", "")) or None,
    }
    call = api(request).reschedule(session.token, airing_id, body, form_key(form))
    return await _answer(request, airing_id, call, notice="moved")


@routes.post("/desk/airings/{airing_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    session, airing_id, form = await _airing_form(request)
    body = {"reason": str(form.get("reason", "")) or None}
    call = api(request).cancel(session.token, airing_id, body, form_key(form))
    return await _answer(request, airing_id, call, notice="cancelled")


@routes.post("/desk/airings/{airing_id}/makeup")
async def makeup(request: web.Request) -> web.Response:
    """Plan a make-up of a missed airing: the same content on the same resource at a new time,
    naming the miss (``makeup_of``), so that reports count it once, as made up."""
    session, airing_id, form = await _airing_form(request)
    missed = await api(request).airing(session.token, airing_id)
    starts = datetime.fromisoformat(missed["starts_at"])
    minutes = int((datetime.fromisoformat(missed["ends_at"]) - starts).total_seconds() // 60)
    body = {
        "kind": missed["kind"],
        "resource_id": missed["resource_id"],
        "duration_minutes": minutes,
        "starts_at": f"{form.get('date')}T{form.get('time')}",
        "title": f"Phát bù: {missed['title']}",
        "makeup_of": airing_id,
    }
    for name in ("language", "script", "topic", "campaign_id", "audio_ref"):
        if missed.get(name):
            body[name] = missed[name]
    call = api(request).plan_airing(session.token, body, form_key(form))
    return await _answer(request, airing_id, call, notice="made-up")


@routes.post("/desk/airings/{airing_id}/series")
async def change_series(request: web.Request) -> web.Response:
    """From one occurrence: change this one and the following ones, or the whole series, or end it here."""
    session, airing_id, form = await _airing_form(request)
    client = api(request)
    airing = await client.airing(session.token, airing_id)
    series_id, occurrence = airing.get("series_id"), airing.get("recurrence_id")
    if not series_id or not occurrence:
        raise web.HTTPUnprocessableEntity(text="not an occurrence of a series")
    scope, new_time = str(form.get("scope", "following")), str(form.get("time", "")).strip()
    title = str(form.get("title", "")).strip()
    try:
        if scope == "end":
            await client.end_series(session.token, series_id, {"occurrence": occurrence[:16]}, form_key(form))
            return await _details(request, airing_id, notice="series-ended")
        body: dict = {"scope": "all" if scope == "all" else "following"}
        if body["scope"] == "following":
            body["occurrence"] = occurrence[:16]
        if title:
            body["title"] = title
        if new_time:
            first = (
                occurrence
                if body["scope"] == "following"
                else (await client.series_of(session.token, series_id))["definition"]["first_start"]
            )
            body["first_start"] = f"{first[:10]}T{new_time}"
        await client.revise_series(session.token, series_id, body, form_key(form))
    except ApiProblem as problem:
        reraise_signed_out(problem)
        return await _details(request, airing_id, problem)
    return await _details(request, airing_id, notice="series-changed")
