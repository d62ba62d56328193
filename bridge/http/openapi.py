"""`GET /api/openapi.json`: OpenAPI 3.1 of every call, built from the routes the app holds."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bridge.http.catalog import documented
from bridge.http.table import Call, Field, Route

_PARAM = re.compile(r"{(\w+)}")
_WORDS = re.compile(r"\W+")
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted: the request is queued; poll it",
    400: "Bad body or query; `field` names what to fix",
    401: "No token, or an unknown one",
    403: "The call names another agent than the token's",
    404: "No such task or request",
    409: "Already claimed, or not yours",
    413: "Body too large",
    429: "Rate-limited; see Retry-After",
    503: "The executor is not connected",
}
_ERROR = {"$ref": "#/components/schemas/Error"}


def field_schema(f: Field) -> dict[str, Any]:
    """The JSON schema of one body field."""
    schema: dict[str, Any] = {"type": f.kind}
    if f.doc:
        schema["description"] = f.doc
    if f.choices:
        schema["enum"] = list(f.choices)
    if f.default is not None:
        schema["default"] = f.default
    if f.low is not None:
        schema["minimum"] = f.low
    if f.high is not None:
        schema["maximum"] = f.high
    if f.kind == "string" and f.nonempty and not f.choices:
        schema["minLength"] = 1
    if f.fields:
        schema |= object_schema(f.fields)
    return schema


def object_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    """An object of these fields (aliases listed as properties of their own)."""
    props: dict[str, Any] = {}
    for f in fields:
        props[f.name] = field_schema(f)
        for alias in f.aliases:
            props[alias] = {**field_schema(f), "description": f"same as `{f.name}`"}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    required = [f.name for f in fields if f.required and not f.aliases]
    if required:
        schema["required"] = required
    return schema


def operation(route: Route) -> dict[str, Any]:
    """One operation object."""
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.method.lower() + "_" + _WORDS.sub("_", route.plain_path).strip("_"),
    }
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if name == "id" and r"\d" in route.path else "string"},
        }
        for name in _PARAM.findall(route.plain_path)
    ]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.doc,
            "schema": {"type": q.kind, **({"enum": list(q.choices)} if q.choices else {})},
        }
        for q in route.query
    ]
    if params:
        op["parameters"] = params
    if route.body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": object_schema(route.body)}},
        }
    media = "text/event-stream" if route.stream else "application/json"
    ok: dict[str, Any] = {"description": _REASONS.get(route.status, "OK")}
    if route.answer:
        ok["content"] = {media: {"example": route.answer}}
    elif route.stream:
        ok["content"] = {media: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(route.status): ok}
    for status in route.errors:
        responses[str(status)] = {
            "description": _REASONS.get(status, "Error"),
            "content": {"application/json": {"schema": _ERROR}},
        }
    op["responses"] = responses
    op["security"] = [{"bearer": []}] if route.auth else []
    return op


def document(app: web.Application, server: str | None = None) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for the app's routes."""
    paths: dict[str, dict[str, Any]] = {}
    for route in documented(app):
        paths.setdefault(route.plain_path, {})[route.method.lower()] = operation(route)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Chavion bridge (SOP v1.0)",
            "version": "1.0",
            "description": "The HTTP door for agents outside Matrix. GET /help explains it.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["status", "message"],
                            "properties": {
                                "status": {"type": "integer"},
                                "message": {"type": "string"},
                                "field": {"type": "string"},
                            },
                        }
                    },
                }
            },
        },
    }
    if server:
        doc["servers"] = [{"url": server}]
    return doc


async def openapi(call: Call) -> web.StreamResponse:
    return web.json_response(document(call.request.app, str(call.request.url.origin())))
