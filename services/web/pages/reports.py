"""Reports: a month, a quarter, a year or any days (from/to) of a province or a campaign, the API's
table as it is, and its JSON, CSV and XLSX."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from urllib.parse import urlencode

import aiohttp_jinja2
import orjson
from aiohttp import web

from contracts.localtime import VIETNAM
from services.common.provinces import BY_ID
from services.metrics.adapters.report_formats import LABELS
from services.web.client import ApiProblem
from services.web.pages.common import api, signed_in

routes = web.RouteTableDef()
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
QUARTER = re.compile(r"^[1-4]$")
YEAR = re.compile(r"^\d{4}$")
PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")
DOWNLOAD = {"json": "application/json", "csv": "text/csv; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip
KINDS = ("month", "quarter", "year", "range")


def _day(text: str | None) -> str | None:
    try:
        return date.fromisoformat(text or "").isoformat()
    except ValueError:
        return None


def _period(q) -> dict:
    """The period asked: ``period=`` as the API says it, or the form's kind and its fields; this month
    when nothing valid is asked. Answers the form's values and the API's parameters (``api``)."""
    now = datetime.now(VIETNAM)
    if PERIOD.match(q.get("period", "")):  # a link that names the period as the API does
        period = q["period"]
        kind = "quarter" if "Q" in period else "month" if "-" in period else "year"
        month = period if kind == "month" else now.strftime("%Y-%m")
        quarter = period[-1] if kind == "quarter" else ""
        form = {"kind": kind, "year": period[:4], "month": month, "quarter": quarter}
        return form | {"api": {"period": period}, "label": period}
    kind = q.get("kind") if q.get("kind") in KINDS else "month"
    month = q.get("month") if MONTH.match(q.get("month", "")) else now.strftime("%Y-%m")
    year = q.get("year") if YEAR.match(q.get("year", "")) else str(now.year)
    quarter = q.get("quarter") if QUARTER.match(q.get("quarter", "")) else str((now.month - 1) // 3 + 1)
    start, end = _day(q.get("from")), _day(q.get("to"))
    form = {"kind": kind, "month": month, "year": year, "quarter": quarter, "from": start, "to": end}
    if kind == "range" and start and end:
        return form | {"api": {"from": start, "to": end}, "label": f"{start}-den-{end}"}
    period = {"month": month, "quarter": f"{year}-Q{quarter}", "year": year}.get(kind, month)
    return form | {"kind": kind if kind != "range" else "month", "api": {"period": period}, "label": period}


def _choice(request: web.Request, province_default: str | None) -> dict:
    q = request.query
    campaign_id = q.get("campaign_id") or None
    province = None if campaign_id else (q.get("province") or province_default)
    return {"period": _period(q), "province": province, "campaign_id": campaign_id}


def _asked(choice: dict) -> dict:
    """The API's parameters of a choice."""
    return {**choice["period"]["api"], "province": choice["province"], "campaign_id": choice["campaign_id"]}


@routes.get("/desk/reports")
async def reports(request: web.Request) -> web.Response:
    session = signed_in(request)
    choice = _choice(request, session.province or "dak-lak")
    client = api(request)
    problem = None
    campaigns, report = await asyncio.gather(
        client.campaigns(session.token, province=session.province),
        client.report(session.token, **_asked(choice)),
        return_exceptions=True,
    )
    if isinstance(campaigns, BaseException):
        raise campaigns
    if isinstance(report, ApiProblem) and report.status != 401:
        problem, report = report, None
    elif isinstance(report, BaseException):
        raise report
    body = report.body if report else None
    span = (date.fromisoformat(body["starts_on"]), date.fromisoformat(body["ends_on"])) if body else None
    query = urlencode({k: v for k, v in _asked(choice).items() if v})
    return aiohttp_jinja2.render_template(
        "reports.html",
        request,
        {"report": body, "span": span, "problem": problem, "campaigns": campaigns,
         "provinces": sorted(BY_ID.items(), key=lambda kv: kv[1]), "query": query, "labels": LABELS,
         "month": choice["period"]["month"], **choice},
    )  # fmt: skip


@routes.get("/desk/reports/download")
async def download(request: web.Request) -> web.Response:
    """The API's file, passed through with the session's token (no token in any link)."""
    session = signed_in(request)
    fmt = request.query.get("format") if request.query.get("format") in DOWNLOAD else "json"
    choice = _choice(request, session.province or "dak-lak")
    answer = await api(request).report(session.token, **_asked(choice), format=fmt)
    body = answer.body if isinstance(answer.body, bytes) else orjson.dumps(answer.body)
    name = f"bao-cao-{choice['period']['label']}-{choice['province'] or 'chien-dich'}.{fmt}"
    headers = {"Content-Type": DOWNLOAD[fmt], "Content-Disposition": f'attachment; filename="{name}"'}
    return web.Response(body=body, headers=headers)
