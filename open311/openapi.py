"""An OpenAPI 3 description of the GeoReport v2 endpoints (docs/open311.md), for schemathesis:
the Open311 views are plain Django views, outside drf-spectacular's /api/schema/. It says which
parameters each resource takes and which answers it gives (200/201, 400, 403, 404, 429; JSON and
XML); tests/schema_fuzz.py fuzzes it for 5xx (issue #16 G)."""

from __future__ import annotations

_ERROR = {
    "description": "GeoReport errors: a list of {code, description}",
    "content": {"application/json": {"schema": {"type": "array"}}, "text/xml": {"schema": {}}},
}


def _answers(*codes: int, ok: int = 200) -> dict:
    answers = {
        str(ok): {
            "description": "ok",
            "content": {"application/json": {"schema": {}}, "text/xml": {"schema": {}}},
        }
    }
    answers.update({str(code): _ERROR for code in codes})
    return answers


def _fmt() -> dict:
    return {
        "name": "fmt",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": ["json", "xml"]},
    }


def _query(name: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}}


REQUEST_FORM = {
    "type": "object",
    "properties": {
        "api_key": {"type": "string"},
        "service_code": {"type": "string"},
        "lat": {"type": "string"},
        "long": {"type": "string"},
        "address_string": {"type": "string"},
        "address_id": {"type": "string"},
        "email": {"type": "string"},
        "device_id": {"type": "string"},
        "account_id": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "phone": {"type": "string"},
        "description": {"type": "string"},
        "media_url": {"type": "string"},
    },
}


def schema() -> dict:
    """The document, with paths as the server has them (`/open311/v2/...`)."""
    base = "/open311/v2"
    return {
        "openapi": "3.0.3",
        "info": {"title": "Gridcase GeoReport v2", "version": "v2"},
        "paths": {
            f"{base}/discovery.{{fmt}}": {
                "get": {"parameters": [_fmt()], "responses": _answers(400)}
            },
            f"{base}/services.{{fmt}}": {
                "get": {
                    "parameters": [_fmt(), _query("jurisdiction_id")],
                    "responses": _answers(400, 404),
                }
            },
            f"{base}/services/{{code}}.{{fmt}}": {
                "get": {
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _fmt(),
                        _query("jurisdiction_id"),
                    ],
                    "responses": _answers(400, 404),
                }
            },
            f"{base}/requests.{{fmt}}": {
                "get": {
                    "parameters": [
                        _fmt(),
                        *(
                            _query(n)
                            for n in (
                                "service_request_id",
                                "service_code",
                                "status",
                                "start_date",
                                "end_date",
                                "updated_after",
                                "updated_before",
                                "lat",
                                "long",
                                "radius",
                                "bbox",
                                "page",
                                "page_size",
                                "jurisdiction_id",
                            )
                        ),
                    ],
                    "responses": _answers(400, 404, 429),
                },
                "post": {
                    "parameters": [_fmt()],
                    "requestBody": {
                        "required": True,
                        "content": {"application/x-www-form-urlencoded": {"schema": REQUEST_FORM}},
                    },
                    "responses": {**_answers(400, 403, 404, 429, ok=201), "200": _answers()["200"]},
                },
            },
            f"{base}/requests/{{request_id}}.{{fmt}}": {
                "get": {
                    "parameters": [
                        {
                            "name": "request_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _fmt(),
                        _query("jurisdiction_id"),
                    ],
                    "responses": _answers(400, 404),
                }
            },
            f"{base}/tokens/{{token}}.{{fmt}}": {
                "get": {
                    "parameters": [
                        {
                            "name": "token",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _fmt(),
                        _query("jurisdiction_id"),
                    ],
                    "responses": _answers(400, 404),
                }
            },
        },
    }
