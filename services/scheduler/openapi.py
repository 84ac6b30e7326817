"""OpenAPI 3.1 of the scheduler API, generated from the contracts in contracts/http/scheduler.py.

python -m services.scheduler.openapi   # writes docs/openapi/scheduler.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.http import scheduler as bodies

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi" / "scheduler.json"

# (method, path, summary, roles, request body, response body, status, query parameters)
ENDPOINTS: list[tuple[str, str, str, str, type[BaseModel] | None, type[BaseModel] | None, int, list[str]]] = [
    ("post", "/v1/airings", "Plan an airing (409 names the airings in the way; emergencies bump normal ones)",
     "planner", bodies.AiringRequest, bodies.AiringView, 201, []),
    ("get", "/v1/airings", "Find airings (paginated, sorted by start; sort=-starts_at for newest first)",
     "any", None, bodies.AiringPage, 200,
     ["resource_id", "campaign_id", "kind", "language", "status", "from", "to", "limit", "offset", "sort"]),
    ("get", "/v1/airings/{airing_id}", "One airing", "any", None, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/reschedule", "Move an airing", "planner",
     bodies.RescheduleRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/cancel", "Cancel an airing", "planner",
     bodies.CancelRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/confirmation", "Record what aired (operator of the resource)",
     "operator", bodies.ConfirmationRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/live", "A livestream went live", "operator",
     bodies.LivestreamLiveRequest, bodies.AiringView, 200, []),
    ("post", "/v1/airings/{airing_id}/end", "A livestream ended", "operator",
     None, bodies.AiringView, 200, []),
    ("get", "/v1/resources/{resource_id}/calendar.ics",
     "iCalendar feed of a resource (token may be given as ?token= for phone calendars)",
     "any", None, None, 200, ["token", "from"]),
    ("get", "/v1/campaigns/{campaign_id}/calendar.ics", "iCalendar feed of a campaign",
     "any", None, None, 200, ["token"]),
    ("get", "/v1/resources/{resource_id}/run-sheet", "An operator's run-sheet for a local day",
     "any", None, bodies.RunSheet, 200, ["date"]),
    ("put", "/v1/resources/{resource_id}", "Register a commune's loudspeakers, a programme or a page, or "
     "change its description (planner of its province)", "planner",
     bodies.ResourceDescription, bodies.ResourceView, 200, []),
    ("get", "/v1/resources", "Resources, by province and type", "any", None, bodies.ResourceList, 200,
     ["province", "type"]),
    ("get", "/v1/resources/{resource_id}", "One resource", "any", None, bodies.ResourceView, 200, []),
    ("post", "/v1/campaigns", "Plan a campaign (target communes must be communes of its province)",
     "planner", bodies.CampaignRequest, bodies.CampaignView, 201, []),
    ("get", "/v1/campaigns", "Campaigns, newest first", "any", None, bodies.CampaignList, 200, ["province"]),
    ("get", "/v1/campaigns/{campaign_id}", "One campaign", "any", None, bodies.CampaignView, 200, []),
    ("put", "/v1/campaigns/{campaign_id}", "Change a campaign", "planner",
     bodies.CampaignDefinition, bodies.CampaignView, 200, []),
    ("get", "/v1/campaigns/{campaign_id}/progress",
     "Planned / aired / missed against the targets, per language, kind and commune",
     "any", None, bodies.CampaignProgress, 200, []),
    ("post", "/v1/series", "Plan a recurring airing (RRULE, EXDATE, RDATE in local time); its airings are "
     "kept scheduled over the horizon", "planner", bodies.SeriesRequest, bodies.SeriesView, 201, []),
    ("get", "/v1/series/{series_id}", "One series, how far it is scheduled and what was skipped", "any",
     None, bodies.SeriesView, 200, []),
    ("post", "/v1/series/{series_id}/revision", "Change this and following occurrences, or the whole "
     "series (one occurrence: use /v1/airings/{id})", "planner",
     bodies.SeriesRevisionRequest, bodies.SeriesView, 200, []),
    ("post", "/v1/series/{series_id}/end", "End a series: no occurrence from the given one on", "planner",
     bodies.SeriesEndRequest, bodies.SeriesView, 200, []),
    ("post", "/v1/fan-outs", "One bulletin to many communes, each in its languages, in its window "
     "(all or nothing; skip_conflicts lists what was left out)", "planner",
     bodies.FanOutRequest, bodies.FanOutResult, 201, []),
]  # fmt: skip


def _content(response: type[BaseModel] | None) -> dict[str, Any]:
    if response is None:
        return {"text/calendar": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{response.__name__}"}}}


def build() -> dict[str, Any]:
    models = {m for e in ENDPOINTS for m in (e[4], e[5]) if m} | {bodies.Problem}
    _, schema = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    problem = {"$ref": "#/components/schemas/Problem"}
    paths: dict[str, Any] = {}
    for method, path, summary, roles, request, response, status, params in ENDPOINTS:
        op: dict[str, Any] = {
            "summary": summary,
            "description": f"Role: {roles}. Times without an offset are Asia/Ho_Chi_Minh wall-clock time.",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in ("airing_id", "resource_id", "campaign_id")
                if "{" + p + "}" in path
            ]
            + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in params],
            "responses": {
                str(status): {
                    "description": "OK",
                    "content": _content(response),
                },
                **{
                    str(code): {
                        "description": text,
                        "content": {"application/problem+json": {"schema": problem}},
                    }
                    for code, text in (
                        (400, "Body is not JSON"),
                        (401, "No or invalid token"),
                        (403, "Role or scope forbids it"),
                        (404, "No such airing"),
                        (409, "Conflict: the airings in the way, or a state that forbids it"),
                        (422, "Invalid field (named, with the reason)"),
                    )
                },
            },
        }
        if method == "post":
            op["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "A retry with the same key returns the first response",
                }
            )
        if request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{request.__name__}"}}
                },
            }
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Loa scheduler",
            "version": "1",
            "description": "Plan livestreams, 'Giờ thứ 9' radio segments and commune loudspeaker broadcasts; "
            "operators confirm airings. Errors are RFC 9457 problem+json.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def rendered() -> bytes:
    return orjson.dumps(build(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


async def document(request: web.Request) -> web.Response:
    return web.Response(body=rendered(), content_type="application/json")


async def page(request: web.Request) -> web.Response:
    """A self-contained docs page (no CDN: these machines have no internet)."""
    spec = build()
    rows = "".join(
        f"<tr><td><code>{m.upper()}</code></td><td><code>{p}</code></td><td>{op['summary']}</td>"
        f"<td>{op['description'].split('.')[0]}</td></tr>"
        for p, ops in spec["paths"].items()
        for m, op in ops.items()
    )
    html = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Loa scheduler API</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem}}td{{padding:.3rem .6rem;
border-bottom:1px solid #ddd;vertical-align:top}}</style></head><body>
<h1>Loa — scheduler API</h1><p>{spec["info"]["description"]}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>who</th></tr>{rows}</table></body></html>"""
    return web.Response(text=html, content_type="text/html")


if __name__ == "__main__":
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_bytes(rendered())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
