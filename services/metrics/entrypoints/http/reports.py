"""The reports: ``GET /v1/reports/monthly`` and ``GET /v1/reports`` (any period: month, quarter, year,
from/to), as JSON, CSV or XLSX; the same report gives the same bytes in every form."""

from __future__ import annotations

from datetime import date

import orjson
from aiohttp import web

from contracts.events.reference import Platform
from services.common.query import enum_param, invalid, uuid_param
from services.common.web import in_scope, principal
from services.metrics.adapters.report_formats import to_csv, to_xlsx
from services.metrics.app.queries import ReportScope
from services.metrics.domain.period import PeriodError, parse_period
from services.metrics.entrypoints.http.reading import view_for

routes = web.RouteTableDef()


@routes.get("/v1/reports/monthly")
async def monthly(request: web.Request) -> web.Response:
    """The month's report for ``province`` or ``campaign_id`` (``month=YYYY-MM``), as JSON, CSV or XLSX."""
    who = principal(request)
    q = request.query
    try:
        month = date.fromisoformat(f"{q.get('month', '')}-01")
    except ValueError:
        raise invalid("month", "YYYY-MM") from None
    province, campaign_id = in_scope(who, q.get("province")), uuid_param(q.get("campaign_id"), "campaign_id")
    if not province and not campaign_id:
        raise invalid("province", "give a province or a campaign_id")
    form = q.get("format", "json")
    if form not in ("json", "csv", "xlsx"):
        raise invalid("format", "json, csv or xlsx")
    view = await view_for(request)
    report = await view.monthly_report(month, province=province, campaign_id=campaign_id)
    return report_response(report, form, f"bao-cao-{month:%Y-%m}-{province or campaign_id}", view.position)


@routes.get("/v1/reports")
async def report(request: web.Request) -> web.Response:
    """``period=2023-08|2023-Q3|2022`` or ``from=…&to=…`` (days, inclusive), for a province, a campaign,
    a commune, a language or a platform; ``format=json|csv|xlsx``."""
    principal(request)
    q = request.query
    try:
        period = parse_period(q.get("period"), q.get("from"), q.get("to"))
    except PeriodError as exc:
        raise invalid(exc.field, exc.reason) from None
    province, campaign_id = q.get("province"), uuid_param(q.get("campaign_id"), "campaign_id")
    platform = enum_param(q.get("platform"), Platform, "platform")
    form = q.get("format", "json")
    if form not in ("json", "csv", "xlsx"):
        raise invalid("format", "json, csv or xlsx")
    view = await view_for(request)
    found = await view.period_report(
        period,
        ReportScope(
            province=province,
            campaign_id=campaign_id,
            commune=q.get("commune"),
            language=q.get("language"),
            platform=platform,
        ),
    )
    scope = province or campaign_id or "ca-nuoc"
    return report_response(
        found, form, f"bao-cao-{period.label.replace('..', '-den-')}-{scope}", view.position
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_response(found, form: str, name: str, position: int) -> web.Response:
    """The report in ``form``; the same report gives the same bytes in every form."""
    headers = {"Loa-As-Of-Position": str(position)}
    if form == "json":
        body = orjson.dumps(found.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        return web.Response(body=body, content_type="application/json", headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{name}.{form}"'
    if form == "csv":
        return web.Response(body=to_csv(found), content_type="text/csv", headers=headers)
    return web.Response(body=to_xlsx(found), content_type=XLSX, headers=headers)
