"""OpenAPI 3.1 documents generated from the contracts, and a self-contained docs page.

Each service lists its endpoints as (method, path, summary, roles, request model,
response model or media type, status, query parameters); the schemas come from
the pydantic contracts, never written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

Endpoint = tuple[str, str, str, str, type[BaseModel] | None, type[BaseModel] | str | None, int, list[str]]
PATH_PARAMETERS = ("airing_id", "resource_id", "campaign_id", "series_id", "jti")


@dataclass(frozen=True)
class ApiDocument:
    title: str
    description: str
    endpoints: list[Endpoint]
    problem: type[BaseModel]
    path: Path

    def build(self) -> dict[str, Any]:
        models = {m for e in self.endpoints for m in (e[4], e[5]) if isinstance(m, type)} | {self.problem}
        _, schema = models_json_schema(
            [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
            ref_template="#/components/schemas/{model}",
        )
        paths: dict[str, Any] = {}
        for method, path, summary, roles, request, response, status, params in self.endpoints:
            paths.setdefault(path, {})[method] = _operation(
                method, path, summary, roles, request, response, status, params
            )
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": "1", "description": self.description},
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {
                "schemas": schema.get("$defs", {}),
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }

    def rendered(self) -> bytes:
        return orjson.dumps(self.build(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"

    async def document(self, request: web.Request) -> web.Response:
        return web.Response(body=self.rendered(), content_type="application/json")

    async def page(self, request: web.Request) -> web.Response:
        """A self-contained docs page (no CDN: these machines have no internet)."""
        spec = self.build()
        rows = "".join(
            f"<tr><td><code>{m.upper()}</code></td><td><code>{p}</code></td><td>{op['summary']}</td>"
            f"<td>{op['description'].split('.')[0]}</td></tr>"
            for p, ops in spec["paths"].items()
            for m, op in ops.items()
        )
        html = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{self.title} API</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem}}td{{padding:.3rem .6rem;
border-bottom:1px solid #ddd;vertical-align:top}}</style></head><body>
<h1>{self.title} API</h1><p>{spec["info"]["description"]}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>who</th></tr>{rows}</table></body></html>"""
        return web.Response(text=html, content_type="text/html")

    def write(self, root: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(self.rendered())
        print(f"wrote {self.path.relative_to(root)}")


def _content(response: type[BaseModel] | str | None) -> dict[str, Any]:
    if response is None or isinstance(response, str):
        return {response or "text/calendar": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{response.__name__}"}}}


# Who may call an operation, by the roles an endpoint names (ADR 0005): collectors read nothing;
# a token naming a province acts (planners) or reads (viewers) in that province only.
ROLES = {
    "any": ["planner", "operator", "viewer"],
    "planner": ["planner"],
    "operator": ["operator", "planner"],
    "collector": ["collector", "planner"],
    "planner without a province": ["planner without a province"],
}


def _operation(method, path, summary, roles, request, response, status, params) -> dict[str, Any]:
    problem = {"$ref": "#/components/schemas/Problem"}
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Role: {', '.join(ROLES[roles])}. Times without an offset are Asia/Ho_Chi_Minh "
        "wall-clock time.",
        "x-roles": ROLES[roles],
        "security": [{"bearer": []}],
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in PATH_PARAMETERS
            if "{" + p + "}" in path
        ]
        + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in params],
        "responses": {
            str(status): {"description": "OK", "content": _content(response)},
            **{
                str(code): {"description": text, "content": {"application/problem+json": {"schema": problem}}}
                for code, text in (
                    (400, "Body is not JSON"),
                    (401, "No or invalid token"),
                    (403, "Role or scope forbids it"),
                    (404, "Not found"),
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
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request.__name__}"}}},
        }
    return op
