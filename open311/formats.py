"""The wire formats of GeoReport v2: XML (required by the spec) and JSON (its Spark-convention
mapping of the same tree), chosen by the resource's extension, and the error shape.

Rules (wiki.open311.org/GeoReport_v2, "Format Support", "Errors"):
- UTF-8 everywhere; XML starts with the declaration, is schemaless and has no namespace;
- a list in JSON is an element in XML whose children are named by `ITEM_TAGS`
  (`services` → `service`, `service_requests` → `request`, …);
- None is JSON null and an empty XML element; booleans are `true`/`false`;
- datetimes are W3C (ISO 8601) with the offset of Asia/Shanghai, e.g. 2026-11-29T09:47:13+08:00;
- errors are a list of {code, description}; HTTP 404 for a missing resource, 403 for a missing or
  wrong api_key, 400 for anything else. Codes are strings, as ids and service codes are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MIME_TYPES = {"xml": "text/xml", "json": "application/json"}
ITEM_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 cannot carry, and NUL, which PostgreSQL text cannot store either.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    """An answer in the error format: `status` is the HTTP status, each description one error."""

    def __init__(self, status: int, *descriptions: str, retry_after: int | None = None) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions or (str(status),)
        self.retry_after = retry_after


def clean_text(value: str) -> str:
    """Input and output text without control characters (line breaks and tabs stay), Unicode
    non-characters or lone surrogates: the product's one rule (cases/text.py)."""
    from cases.text import clean_text as clean

    return clean(_NOT_XML.sub("", value))


def w3c(value: dt.datetime | None) -> str | None:
    """2026-11-29T09:47:13+08:00: whole seconds, Asia/Shanghai offset, as the w3 note allows."""
    if value is None:
        return None
    return (
        timezone.localtime(value, timezone.get_default_timezone())
        .replace(microsecond=0)
        .isoformat()
    )


def respond(
    data: Any, *, root: str, fmt: str, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    """`data` (a list or dict of plain values) as JSON, or as XML under the element `root`."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    else:
        body = to_xml(root, data)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: Open311Error, fmt: str) -> HttpResponse:
    errors = [{"code": str(error.status), "description": text} for text in error.descriptions]
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return respond(errors, root="errors", fmt=fmt, status=error.status, headers=headers)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, data)
    text = ET.tostring(element, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode()


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        tag = ITEM_TAGS[element.tag]
        for child in value:
            _fill(ET.SubElement(element, tag), child)
    elif value is not None:
        element.text = _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean_text(str(value))
