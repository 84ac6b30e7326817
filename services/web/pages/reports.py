"""Reports: a month of a province or a campaign, the API's table as it is, and its JSON, CSV and XLSX."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import aiohttp_jinja2
import orjson
from aiohttp import web

from services.common.localtime import VIETNAM
from services.common.provinces import BY_ID
from services.metrics.report_formats import LABELS
from services.web.client import ApiProblem
from services.web.pages.common import api, signed_in

routes = web.RouteTableDef()
MONTH = re.compile(r"^\d{4}-\d{2}$")
DOWNLOAD = {"json": "application/json", "csv": "text/csv; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip


def _choice(request: web.Request, province_default: str | None) -> dict:
    q = request.query
    month = q.get("month") if MONTH.match(q.get("month", "")) else datetime.now(VIETNAM).strftime("%Y-%m")
    campaign_id = q.get("campaign_id") or None
    province = None if campaign_id else (q.get("province") or province_default)
    return {"month": month, "province": province, "campaign_id": campaign_id}


@routes.get("/desk/reports")
async def reports(request: web.Request) -> web.Response:
    session = signed_in(request)
    choice = _choice(request, session.province or "dak-lak")
    client = api(request)
    problem = None
    campaigns, report = await asyncio.gather(
        client.campaigns(session.token, province=session.province),
        client.report(session.token, **choice),
        return_exceptions=True,
    )
    if isinstance(campaigns, BaseException):
        raise campaigns
    if isinstance(report, ApiProblem) and report.status != 401:
        problem, report = report, None
    elif isinstance(report, BaseException):
        raise report
    query = "&".join(f"{k}={v}" for k, v in choice.items() if v)
    return aiohttp_jinja2.render_template(
        "reports.html",
        request,
        {"report": report.body if report else None, "problem": problem, "campaigns": campaigns,
         "provinces": sorted(BY_ID.items(), key=lambda kv: kv[1]), "query": query, "labels": LABELS,
         **choice},
    )  # fmt: skip


@routes.get("/desk/reports/download")
async def download(request: web.Request) -> web.Response:
    """The API's file, passed through with the session's token (no token in any link)."""
    session = signed_in(request)
    fmt = request.query.get("format") if request.query.get("format") in DOWNLOAD else "json"
    choice = _choice(request, session.province or "dak-lak")
    answer = await api(request).report(session.token, **choice, format=fmt)
    body = answer.body if isinstance(answer.body, bytes) else orjson.dumps(answer.body)
    name = f"bao-cao-{choice['month']}-{choice['province'] or 'chien-dich'}.{fmt}"
    headers = {"Content-Type": DOWNLOAD[fmt], "Content-Disposition": f'attachment; filename="{name}"'}
    return web.Response(body=body, headers=headers)
