"""OpenAPI 3.1 documents generated from the contracts, and a self-contained docs page.

Each service lists its endpoints as (method, path, summary, roles, request model,
response, status(es), query); the schemas come from the pydantic contracts, never
written by hand. A response is a model (JSON), a media type, or a mapping of
media types to a model or None (a body of that type); the query is the pydantic
model that also parses it (``services.common.query.query_as``), or a list of
names of plain string parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from contracts.http.types import RESOURCE_ID

LOCAL_TIME = r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"
DATE_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"


class LocalTimes(GenerateJsonSchema):
    """Wall-clock times as they are: RFC 3339 ``time`` and ``date-time`` carry an offset, a local
    ``05:30`` or ``2023-08-07T17:30`` does not, so those are documented by a pattern."""

    def time_schema(self, schema: core_schema.TimeSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": LOCAL_TIME, "description": "local wall-clock time"}

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        if schema.get("tz_constraint") == "aware":
            return super().datetime_schema(schema)
        return {
            "type": "string",
            "pattern": DATE_TIME,
            "description": "ISO date-time; without an offset, wall-clock time (Asia/Ho_Chi_Minh)",
        }


Response = type[BaseModel] | str | dict[str, type[BaseModel] | None]
Endpoint = tuple[str, str, str, str, type[BaseModel] | None, Response, int | tuple[int, ...], Any]
PATH_PARAMETERS = {
    "airing_id": {"type": "string", "format": "uuid"},
    "campaign_id": {"type": "string", "format": "uuid"},
    "series_id": {"type": "string", "format": "uuid"},
    "resource_id": {"type": "string", "minLength": 1, "maxLength": 120, "pattern": RESOURCE_ID},
    "jti": {"type": "string", "minLength": 1, "maxLength": 200},
    "grant_id": {"type": "string", "format": "uuid"},
}
SSE_EVENT = {
    "type": "object",
    "description": "one Server-Sent Event; data is JSON",
    "properties": {
        "id": {"type": "string"},
        "event": {"type": "string"},
        "data": {"type": "string"},
        "retry": {"type": "integer"},
    },
}
REFUSALS = (
    (400, "Body is not JSON, or a header is malformed"),
    (401, "No or invalid token"),
    (403, "Role or scope forbids it"),
    (404, "Not found"),
    (405, "Method not allowed (the Allow header lists the methods)"),
    (409, "Conflict: the airings in the way, or a state that forbids it"),
    (413, "Body too large"),
    (422, "Invalid field or parameter (named, with the reason)"),
    (503, "A dependency is down or the service is busy: retry later"),
)


@dataclass(frozen=True)
class ApiDocument:
    title: str
    description: str
    endpoints: list[Endpoint]
    problem: type[BaseModel]
    path: Path
    links: dict[tuple[str, str], dict[str, str]] = default(default_factory=dict)
    """(method, path) of an operation that creates something -> {path parameter: runtime expression}
    naming it; every operation whose path takes exactly those parameters is linked from it, so that
    clients (and schemathesis' stateful phase) can follow what was created."""

    def build(self) -> dict[str, Any]:
        models = {m for e in self.endpoints for m in (e[4], *_models(e[5])) if isinstance(m, type)}
        models |= {self.problem}
        _, schema = models_json_schema(
            [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
            ref_template="#/components/schemas/{model}",
            schema_generator=LocalTimes,
        )
        paths: dict[str, Any] = {}
        for method, path, summary, roles, request, response, status, params in self.endpoints:
            paths.setdefault(path, {})[method] = _operation(
                method, path, summary, roles, request, response, status, params
            )
        for method, path, *_ in self.endpoints:
            paths[path][method]["operationId"] = _operation_id(method, path)
        for (method, path), names in self.links.items():
            operation = paths[path][method]
            links = {
                _operation_id(m, p): {"operationId": _operation_id(m, p), "parameters": names}
                for m, p, *_ in self.endpoints
                if (m, p) != (method, path) and set(re.findall(r"{(\w+)}", p)) == set(names)
            }
            for code, response in operation["responses"].items():
                if code.startswith("2"):
                    response["links"] = links
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


def _operation_id(method: str, path: str) -> str:
    """``post /v1/airings/{airing_id}/cancel`` -> ``post_airings_airing_id_cancel``."""
    words = re.findall(r"\w+", path.removeprefix("/v1"))
    return "_".join([method, *words]).replace("-", "_")


def _models(response: Response) -> list[type[BaseModel]]:
    if isinstance(response, dict):
        return [m for m in response.values() if m is not None]
    return [response] if isinstance(response, type) else []


def _schema(model: type[BaseModel] | None) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"} if model is not None else {"type": "string"}


def _content(response: Response) -> dict[str, Any]:
    if isinstance(response, dict):
        return {media: {"schema": _schema(model)} for media, model in response.items()}
    if response == "text/event-stream":
        return {response: {"schema": SSE_EVENT}}
    if isinstance(response, str):
        return {response: {"schema": {"type": "string"}}}
    return {"application/json": {"schema": _schema(response)}}


def _query_parameters(query: Any) -> list[dict[str, Any]]:
    """Query parameters from the pydantic model that parses them (or plain strings by name)."""
    if not isinstance(query, type):
        return [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query]
    schema = query.model_json_schema(schema_generator=LocalTimes)
    definitions = schema.get("$defs", {})
    parameters = []
    for name, field in schema.get("properties", {}).items():
        field = _inline(field, definitions)
        choices = [c for c in field.pop("anyOf", []) if c != {"type": "null"}]
        if len(choices) == 1:
            field |= choices[0]
        elif choices:
            field["anyOf"] = choices
        description = field.pop("description", None)
        field.pop("title", None)
        if field.get("default", 0) is None:
            del field["default"]  # absent, not null: a query string has no null
        parameter = {"name": name, "in": "query", "required": False, "schema": field}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """``schema`` with each ``$ref`` to the model's own definitions replaced by the definition."""
    if isinstance(schema, list):
        return [_inline(s, definitions) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _inline(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions)
    return {k: _inline(v, definitions) for k, v in schema.items()}


# Who may call an operation, by the roles an endpoint names (ADR 0005): collectors read nothing;
# a token naming a province acts (planners) or reads (viewers) in that province only.
ROLES = {
    "any": ["planner", "operator", "viewer"],
    "planner": ["planner"],
    "operator": ["operator", "planner"],
    "collector": ["collector", "planner"],
    "planner without a province": ["planner without a province"],
    "anyone": ["anyone"],  # no token: what a token is obtained with
}


def _operation(method, path, summary, roles, request, response, status, query) -> dict[str, Any]:
    problem = {"$ref": "#/components/schemas/Problem"}
    statuses = status if isinstance(status, tuple) else (status,)
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Role: {', '.join(ROLES[roles])}. Times without an offset are Asia/Ho_Chi_Minh "
        "wall-clock time.",
        "x-roles": ROLES[roles],
        "security": [] if roles == "anyone" else [{"bearer": []}],
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": schema}
            for p, schema in PATH_PARAMETERS.items()
            if "{" + p + "}" in path
        ]
        + _query_parameters(query),
        "responses": {
            **{
                str(code): {"description": "Created" if code == 201 else "OK", "content": _content(response)}
                for code in statuses
            },
            **{
                str(code): {"description": text, "content": {"application/problem+json": {"schema": problem}}}
                for code, text in REFUSALS
            },
        },
    }
    if roles == "anyone":  # what a token is obtained with: guessing it is slowed down
        op["responses"]["429"] = {
            "description": "Too many failed attempts from this client: retry after Retry-After seconds",
            "content": {"application/problem+json": {"schema": problem}},
            "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        }
    op["responses"]["405"]["headers"] = {
        "Allow": {"description": "the methods the path answers", "schema": {"type": "string"}}
    }
    if method == "post":
        op["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "A retry with the same key returns the first response",
            }
        )
    if request is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request.__name__}"}}},
        }
    return op
