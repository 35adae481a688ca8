"""POST requests: a public report from an API client (docs/domain.md §4 "report", §10).

Rules:
- a full location: `lat` and `long` together, or `address_string`, or `address_id`;
- `attribute[code]=value` (and `attribute[code][]=…` for lists) are converted and checked
  against the service definition (open311.definitions);
- `description` at most 4000 characters; `email`, `device_id`, `account_id`, `first_name`,
  `last_name`, `phone` at most 200 (an email must look like one); `media_url` http(s), at most
  2000 characters, may repeat (FixMyStreet sends one per photo): stored, never fetched;
- every problem is reported at once, each naming its parameter (400);
- the case is made by `report_case` with reporter=None and source `public`: it starts in
  `reported` and follows docs/domain.md §4 (the acceptor sends it for verification);
- contact data, the client's name (`via`) and the media URLs go to `Case.reporter_contact`, which
  only the centre sees; the public never does;
- repeats: an identical POST (same parameters, api_key aside) from the same client within
  settings.OPEN311_REPEAT_WINDOW (24 hours by default: long enough for a sender that retries
  from a queue or a cron job after a lost answer, as FixMyStreet does) answers with the case the
  first one made. With an `Idempotency-Key` header the key decides instead, for ever; the same
  key with other parameters is refused (400).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from cases import workflow
from cases.models import SmallClass, Source
from open311.definitions import convert_attributes
from open311.formats import Open311Error, clean_text
from open311.models import ApiClient, Submission

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "device_id", "account_id")
IGNORED_IN_FINGERPRINT = {"api_key", "jurisdiction_id"}
MAX_DESCRIPTION = 4000
MAX_CONTACT = 200
MAX_ADDRESS = 300
MAX_ADDRESS_ID = 100
MAX_URL = 2000
MAX_MEDIA = 9
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](?:\[\])?$")


@dataclass
class NewRequest:
    service: SmallClass
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    address_id: str = ""
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)


def parse_post(params: QueryDict, *, service: SmallClass) -> NewRequest:
    """The report a POST describes; Open311Error(400) naming every bad parameter."""
    errors: list[str] = []
    new = NewRequest(service=service)
    new.lat = _coordinate(params, "lat", 90, errors)
    new.lon = _coordinate(params, "long", 180, errors)
    new.address = _text(params, "address_string", MAX_ADDRESS, errors)
    new.address_id = _text(params, "address_id", MAX_ADDRESS_ID, errors)
    _check_location(params, errors)
    new.description = _text(params, "description", MAX_DESCRIPTION, errors)
    new.contact = {
        name: value
        for name in CONTACT_FIELDS
        if (value := _text(params, name, MAX_CONTACT, errors))
    }
    if "email" in new.contact and not _valid(EmailValidator(), new.contact["email"]):
        errors.append(f"email: {new.contact['email']!r} is not an email address.")
    new.media_urls = _media_urls(params, errors)
    try:
        new.attributes = convert_attributes(service, submitted_attributes(params))
    except Open311Error as exc:
        errors += exc.descriptions
    if errors:
        raise Open311Error(400, *errors)
    return new


def submitted_attributes(params: QueryDict) -> dict[str, list[str]]:
    """code → values from `attribute[code]=v` and `attribute[code][]=v` parameters."""
    found: dict[str, list[str]] = {}
    for name, values in params.lists():
        if match := _ATTRIBUTE.match(name):
            found.setdefault(match[1], []).extend(values)
    return found


def fingerprint(params: QueryDict) -> str:
    """SHA-256 of the parameters (api_key and jurisdiction_id aside, empty values dropped as the
    absent ones they stand for), independent of their order."""
    data = {
        name: sorted(v.strip() for v in values if v.strip())
        for name, values in params.lists()
        if name not in IGNORED_IN_FINGERPRINT
    }
    data = {name: values for name, values in data.items() if values}
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def submit_request(
    new: NewRequest,
    *,
    client: ApiClient,
    fingerprint: str,
    idempotency_key: str = "",
    now: dt.datetime | None = None,
) -> tuple[Submission, bool]:
    """Make the case for a POST, or find the one an earlier identical POST made: (submission, made now).

    Rules and side effects: in one transaction, locks the client's row (so identical POSTs racing
    each other serialize and the second finds the first's submission), records its last use,
    then either returns the earlier submission (a repeat within OPEN311_REPEAT_WINDOW, or the same
    Idempotency-Key) or makes the case through `workflow.report_case` (reporter None, source
    public, state reported) and its Submission. Raises Open311Error(400) for a reused
    Idempotency-Key with other parameters.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The UPDATE holds the client's row lock until commit (SQLite: the write lock from BEGIN).
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        earlier = _earlier(client, fingerprint, idempotency_key, now)
        if earlier is not None:
            return earlier, False
        case = workflow.report_case(_report(new, client), reporter=None, now=now)
        submission = Submission.objects.create(
            client=client,
            case=case,
            fingerprint=fingerprint,
            idempotency_key=idempotency_key,
            media_urls=new.media_urls,
            address_id=new.address_id,
            received_at=now,
        )
    return submission, True


def _earlier(
    client: ApiClient, fingerprint: str, idempotency_key: str, now: dt.datetime
) -> Submission | None:
    mine = Submission.objects.filter(client=client).select_related("case")
    if idempotency_key:
        found = mine.filter(idempotency_key=idempotency_key).first()
        if found is not None and found.fingerprint != fingerprint:
            raise Open311Error(
                400, "Idempotency-Key: already used for a request with other parameters."
            )
        return found
    since = now - settings.OPEN311_REPEAT_WINDOW
    return (
        mine.filter(fingerprint=fingerprint, received_at__gte=since)
        .order_by("-received_at")
        .first()
    )


def _report(new: NewRequest, client: ApiClient) -> workflow.Report:
    contact = {**new.contact, "via": client.name}
    if new.media_urls:
        contact["media_url"] = " ".join(new.media_urls)
    address = new.address or (f"address_id {new.address_id}" if new.address_id else "")
    return workflow.Report(
        category=new.service,
        source=Source.PUBLIC,
        lon=new.lon,
        lat=new.lat,
        address=address,
        description=new.description,
        attributes=new.attributes,
        contact=contact,
    )


# --- parameters -------------------------------------------------------------------------------


def _one(params: QueryDict, name: str) -> str:
    values = [clean_text(v).strip() for v in params.getlist(name)]
    values = [v for v in values if v]
    return values[-1] if values else ""


def _text(params: QueryDict, name: str, limit: int, errors: list[str]) -> str:
    value = _one(params, name)
    if len(value) > limit:
        errors.append(f"{name}: at most {limit} characters (got {len(value)}).")
        return ""
    return value


def _coordinate(params: QueryDict, name: str, limit: int, errors: list[str]) -> float | None:
    value = _one(params, name)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not -limit <= number <= limit:
        errors.append(
            f"{name}: {value!r} is not a number from -{limit} to {limit} (WGS84 degrees)."
        )
        return None
    return number


def _check_location(params: QueryDict, errors: list[str]) -> None:
    lat_given, long_given = bool(_one(params, "lat")), bool(_one(params, "long"))
    if lat_given != long_given:
        errors.append("long: required with lat." if lat_given else "lat: required with long.")
    elif not (lat_given or _one(params, "address_string") or _one(params, "address_id")):
        errors.append(
            "lat, long: a location is required: lat and long, address_string or address_id."
        )


# What RFC 3986 allows in a URL, less the quote: no <, >, ", `, spaces or braces (a media_url
# is shown as a link: `http://x/"><script>` passes Django's URLValidator, not this).
_URL_CHARACTERS = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+$", re.IGNORECASE)


def _media_urls(params: QueryDict, errors: list[str]) -> list[str]:
    urls = [u for u in (clean_text(v).strip() for v in params.getlist("media_url")) if u]
    if len(urls) > MAX_MEDIA:
        errors.append(f"media_url: at most {MAX_MEDIA} URLs.")
        return []
    bad = [
        u
        for u in urls
        if len(u) > MAX_URL
        or not _URL_CHARACTERS.match(u)
        or not _valid(URLValidator(schemes=["http", "https"]), u)
    ]
    if bad:
        errors.append(
            f"media_url: {bad[0][:100]!r} is not an http(s) URL of at most {MAX_URL} characters."
        )
        return []
    return urls


def _valid(validator: Any, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True
