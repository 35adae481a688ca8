"""Services and service definitions (GeoReport v2 "GET Service List" / "GET Service Definition"),
derived from the category dictionary, and the conversion of submitted `attribute[code]` values.

Rules:
- a service is a small class a new case may use (`SmallClass.objects.available()`);
- `service_code` is the small class's database id, as a string. The class code is not unique
  among available classes (GB/T 47678.5-2026 uses each code once as a component and once as a
  matter, and local classes may repeat a code) and means something else under another standard;
  the id is unique and stable. The national code is the first keyword and part of the description;
- `group` is the big class name; `metadata` is true when the case standard's attribute schema has
  properties; every service is `realtime` (the POST answers with the service_request_id);
- each property of the attribute schema (JSON Schema) is one attribute: datatype from its type
  (number/integer → number, enum/oneOf-const/boolean → singlevaluelist, array → multivaluelist,
  format date-time/date → datetime, maxLength ≥ 256 → text, else string; `x-open311-datatype`
  overrides), required from `required`, order from `x-order` (then required first, then code),
  description from `title`, datatype_description from `description` or the schema's bounds;
- submitted values are converted to the schema's types, then checked against the schema
  (`validate_attributes`); attributes the definition does not name are ignored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from cases.models import SmallClass, validate_attributes
from open311.formats import Open311Error, clean_text, w3c

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
TEXT_MIN_LENGTH = 256
BOOLEAN_CHOICES = ((True, "是 / yes"), (False, "否 / no"))


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    required: bool
    variable: bool
    order: int
    description: str
    datatype_description: str | None
    choices: tuple[tuple[Any, str], ...]
    integer: bool = False
    date_only: bool = False

    def choice(self, key: str) -> Any:
        """The schema value whose key is `key`; ValueError naming the allowed keys otherwise."""
        for value, _name in self.choices:
            if choice_key(value) == key:
                return value
        allowed = ", ".join(choice_key(value) for value, _name in self.choices)
        raise ValueError(f"{key!r} is not one of the allowed values ({allowed})")


def choice_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- services ---------------------------------------------------------------------------------


def available_services() -> QuerySet[SmallClass]:
    return (
        SmallClass.objects.available()
        .select_related("big_class__standard", "case_standard")
        .order_by("big_class__kind", "big_class__code", "code", "pk")
    )


def find_service(code: str | None) -> SmallClass:
    """The available small class with this service_code: 400 when none is given, 404 when unknown."""
    if not code:
        raise Open311Error(400, "service_code: required (GET services.xml lists them).")
    known = code.isascii() and code.isdigit() and len(code) < 19
    found = available_services().filter(pk=int(code)).first() if known else None
    if found is None:
        raise Open311Error(404, f"service_code: no service {code!r} (GET services.xml lists them).")
    return found


def service_dict(small: SmallClass) -> dict:
    big = small.big_class
    standard = getattr(small, "case_standard", None)
    condition = standard.registration_condition.strip() if standard else ""
    return {
        "service_code": str(small.pk),
        "service_name": small.name,
        "description": condition or f"{small.name}（{big.name}；{big.standard.code} {small.code}）",
        "metadata": bool(attributes_of(small)),
        "type": "realtime",
        "keywords": ", ".join(_keywords(small)),
        "group": big.name,
    }


def _keywords(small: SmallClass) -> list[str]:
    words = [small.code, *(w.strip() for w in re.split(r"[,，、;；\n]+", small.keywords or ""))]
    return list(dict.fromkeys(w for w in words if w))


# --- service definitions ----------------------------------------------------------------------


def definition_dict(small: SmallClass) -> dict:
    return {
        "service_code": str(small.pk),
        "attributes": [_attribute_dict(a) for a in attributes_of(small)],
    }


def _attribute_dict(a: Attribute) -> dict:
    body: dict[str, Any] = {
        "variable": a.variable,
        "code": a.code,
        "datatype": a.datatype,
        "required": a.required,
        "datatype_description": a.datatype_description,
        "order": a.order,
        "description": a.description,
    }
    if a.datatype in ("singlevaluelist", "multivaluelist"):
        body["values"] = [{"key": choice_key(value), "name": name} for value, name in a.choices]
    return body


def attributes_of(small: SmallClass) -> list[Attribute]:
    """The attributes of a small class's schema, in presentation order (order = 1, 2, …)."""
    standard = getattr(small, "case_standard", None)
    schema = standard.attribute_schema if standard else {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])

    def rank(code: str) -> tuple[int, bool, str]:
        prop = properties[code] if isinstance(properties[code], dict) else {}
        explicit = prop.get("x-order")
        return (explicit if isinstance(explicit, int) else 10**6, code not in required, code)

    codes = sorted(properties, key=rank)
    return [
        _attribute(
            code,
            properties[code] if isinstance(properties[code], dict) else {},
            code in required,
            n,
        )
        for n, code in enumerate(codes, start=1)
    ]


def _attribute(code: str, prop: dict, required: bool, order: int) -> Attribute:
    datatype = _datatype(prop)
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    source = items if datatype == "multivaluelist" else prop
    return Attribute(
        code=code,
        datatype=datatype,
        required=required,
        variable=not prop.get("readOnly", False),
        order=order,
        description=str(prop.get("title") or code),
        datatype_description=_hint(prop, datatype),
        choices=_choices(source),
        integer=_type(prop) == "integer",
        date_only=prop.get("format") == "date",
    )


def _type(prop: dict) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _choices(prop: dict) -> tuple[tuple[Any, str], ...]:
    if _type(prop) == "boolean":
        return BOOLEAN_CHOICES
    if isinstance(prop.get("enum"), list):
        names = prop.get("x-enumNames") or prop.get("enumNames") or []
        return tuple(
            (value, str(names[i]) if i < len(names) else choice_key(value))
            for i, value in enumerate(prop["enum"])
        )
    options = prop.get("oneOf") or prop.get("anyOf") or []
    if options and all(isinstance(o, dict) and "const" in o for o in options):
        return tuple((o["const"], str(o.get("title") or choice_key(o["const"]))) for o in options)
    return ()


def _datatype(prop: dict) -> str:
    override = prop.get("x-open311-datatype")
    if override in DATATYPES:
        return override
    kind = _type(prop)
    if kind == "array":
        return "multivaluelist"
    if kind == "boolean" or _choices(prop):
        return "singlevaluelist"
    if kind in ("number", "integer"):
        return "number"
    if prop.get("format") in ("date-time", "date"):
        return "datetime"
    if (prop.get("maxLength") or 0) >= TEXT_MIN_LENGTH:
        return "text"
    return "string"


def _hint(prop: dict, datatype: str) -> str | None:
    """What the value must look like: the schema's own description, else its bounds."""
    if prop.get("description"):
        return str(prop["description"])
    if datatype == "datetime":
        return (
            "YYYY-MM-DD"
            if prop.get("format") == "date"
            else "W3C date-time, e.g. 2026-11-29T09:30:00+08:00"
        )
    bounds = [
        f"{sign} {prop[key]}"
        for key, sign in (
            ("exclusiveMinimum", ">"),
            ("minimum", "≥"),
            ("exclusiveMaximum", "<"),
            ("maximum", "≤"),
        )
        if key in prop
    ]
    if datatype == "number":
        return " ".join(["integer" if _type(prop) == "integer" else "number", *bounds])
    if "maxLength" in prop:
        return f"at most {prop['maxLength']} characters"
    return None


# --- submitted values -------------------------------------------------------------------------


def convert_attributes(small: SmallClass, submitted: dict[str, list[str]]) -> dict[str, Any]:
    """The attributes a case gets from `attribute[code]=value` pairs (`submitted`: code → values).

    Rules: an empty value counts as absent; required attributes must be present; each value is
    converted to the schema's type (a list key to its value); the result must pass the schema.
    Raises Open311Error(400) listing every problem as "attribute[code]: …". No side effects.
    """
    values: dict[str, Any] = {}
    errors: list[str] = []
    for attribute in attributes_of(small):
        raw = [clean_text(v).strip() for v in submitted.get(attribute.code, [])]
        raw = [v for v in raw if v]
        if not raw:
            if attribute.required:
                errors.append(f"attribute[{attribute.code}]: required ({attribute.description}).")
            continue
        try:
            values[attribute.code] = _convert(attribute, raw)
        except ValueError as exc:
            errors.append(f"attribute[{attribute.code}]: {exc}.")
    errors = errors or _schema_errors(small, values)
    if errors:
        raise Open311Error(400, *errors)
    return values


def _convert(attribute: Attribute, raw: list[str]) -> Any:
    if attribute.datatype == "multivaluelist":
        return [attribute.choice(v) for v in raw]
    if len(raw) > 1:
        raise ValueError("takes one value")
    value = raw[0]
    if attribute.datatype == "singlevaluelist":
        return attribute.choice(value)
    if attribute.datatype == "number":
        return _number(value, integer=attribute.integer)
    if attribute.datatype == "datetime":
        return _datetime(value, date_only=attribute.date_only)
    return value


def _number(value: str, *, integer: bool) -> int | float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a number")
    if integer:
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    return number


def _datetime(value: str, *, date_only: bool) -> str:
    try:  # the date first: parse_datetime reads "2026-01-01" as that day's midnight
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise ValueError(f"{value!r} is not a W3C date or date-time")
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    if date_only:
        return (
            day or timezone.localtime(moment, timezone.get_default_timezone()).date()
        ).isoformat()
    if moment is None:
        moment = dt.datetime.combine(day, dt.time(), timezone.get_default_timezone())
    return w3c(moment) or ""


def _schema_errors(small: SmallClass, values: dict[str, Any]) -> list[str]:
    try:
        validate_attributes(small, values)
    except ValidationError as exc:
        errors = []
        for field, messages in exc.message_dict.items():
            name = "attribute" if field == NON_FIELD_ERRORS else f"attribute[{field}]"
            errors += [f"{name}: {m.removeprefix(f'{field}: ')}" for m in messages]
        return errors
    return []
