"""Demo cases: a few hundred over the last eight weeks, in every state, made by driving the
workflow itself (report_case + transition with past timestamps); no status is written directly.

Deterministic for a seed. Used by `load_demo` only.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass

import shapely
from django.utils import timezone
from PIL import Image, ImageDraw

from cases import photos, workflow
from cases.models import Case, SmallClass, Source, Status
from grids.models import Grid
from people.models import Organisation, Role, User

# The violation types of DOMAIN §2, by GB/T 47678.5-2026 code, with the unit that handles them.
DEMO_CLASSES = {
    "06001": ("unit-enforcement", "人行道旁私搭乱建彩钢棚约{n}平方米"),
    "08016": ("unit-enforcement", "小区内无证建设二层砖混结构"),
    "06011": ("unit-sanitation", "绿化带内倾倒建筑垃圾约{n}立方米"),
    "06014": ("unit-sanitation", "路边积存生活垃圾未清运"),
    "08005": ("unit-sanitation", "夜间违法倾倒渣土"),
    "07003": ("unit-enforcement", "楼顶违规设置户外广告牌"),
    "07006": ("unit-enforcement", "店招店牌破损未经审批更换"),
    "07001": ("unit-sanitation", "电线杆上张贴非法小广告{n}处"),
    "09001": ("unit-enforcement", "流动摊贩无照经营"),
    "09005": ("unit-enforcement", "店外占道经营摆放货架"),
    "01001": ("unit-municipal", "供水井盖破损缺失"),
    "04001": ("unit-landscape", "古树名木枝干断裂"),
}
# Where each generated case stops: (final status, share). Weighted towards closed, as in life.
OUTCOMES = [
    (Status.CLOSED, 46), (Status.HANDLING, 12), (Status.REPORTED, 6), (Status.VERIFYING, 3),
    (Status.PENDING_REGISTRATION, 4), (Status.DISPATCHING, 4), (Status.SUSPENDED, 3), (Status.CHECKING, 6),
    (Status.CLOSING, 4), (Status.REJECTED, 6), (Status.VOIDED, 3), (Status.MERGED, 3),
]

OPEN_TARGETS = {Status.HANDLING, Status.CHECKING, Status.CLOSING, Status.DISPATCHING, Status.SUSPENDED,
                Status.REPORTED, Status.VERIFYING, Status.PENDING_REGISTRATION}


@dataclass
class Cast:
    acceptor: User
    shift_leader: User
    dispatcher: User
    viewer: User
    units: dict[str, Organisation]
    members: dict[int, User]


def _cast() -> Cast:
    units = {o.code: o for o in Organisation.objects.filter(kind=Organisation.Kind.HANDLING_UNIT)}
    members = {}
    for unit in units.values():
        member = unit.members.filter(role=Role.UNIT_MEMBER).first() or User.objects.create(
            username=f"{unit.code}-member", role=Role.UNIT_MEMBER, organisation=unit, first_name=f"{unit.name}处置员")
        members[unit.pk] = member
    return Cast(acceptor=User.objects.get(username="acceptor"), shift_leader=User.objects.get(username="shiftleader"),
                dispatcher=User.objects.get(username="dispatcher"), viewer=User.objects.get(username="viewer"),
                units=units, members=members)


def _photo_maker(rng: random.Random):
    cache: dict[int, list[dict]] = {}

    def make() -> list[dict]:
        variant = rng.randrange(12)
        if variant not in cache:
            image = Image.new("RGB", (480, 360), (90 + variant * 12, 120, 160 - variant * 8))
            ImageDraw.Draw(image).rectangle((60, 80, 420, 300), outline=(255, 255, 255), width=6)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=80)
            processed = photos.process_photo(buffer.getvalue(), filename=f"demo-{variant}.jpg")
            cache[variant] = [photos.photo_record(processed, photos.store_photo(processed))]
        return cache[variant]

    return make


def _point_in(grid: Grid, rng: random.Random) -> tuple[float, float]:
    polygon = shapely.from_geojson(grid.geometry)
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(50):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if polygon.contains(shapely.Point(x, y)):
            return x, y
    point = polygon.representative_point()
    return point.x, point.y


def _working_moment(day: dt.date, rng: random.Random) -> dt.datetime:
    tz = timezone.get_current_timezone()
    minute = rng.randrange(8 * 60 + 30, 17 * 60)
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tz)


def generate_demo_cases(*, count: int = 320, weeks: int = 8, seed: int = 20261129,
                        now: dt.datetime | None = None) -> int:
    """Create `count` cases over the past `weeks`. Returns how many were made (0 if any exist)."""
    if Case.objects.exists():
        return 0
    rng = random.Random(seed)
    now = now or timezone.now()
    cast = _cast()
    classes = {c.code: c for c in SmallClass.objects.available().filter(code__in=DEMO_CLASSES,
                                                                           big_class__kind="event")}
    grids = list(Grid.objects.current().prefetch_related("officers"))
    focus = [g for g in grids if g.officers.filter(username__in=["officer", "officer2"]).exists()]
    make_photo = _photo_maker(rng)
    statuses, weights = zip(*OUTCOMES, strict=True)
    for _ in range(count):
        grid = rng.choice(focus) if focus and rng.random() < 0.3 else rng.choice(grids)
        code = rng.choice(sorted(classes))
        target = rng.choices(statuses, weights)[0]
        recent = target in OPEN_TARGETS and rng.random() < 0.6  # open work is mostly recent
        day = (now - dt.timedelta(days=rng.randrange(0, 2) if recent else rng.randrange(1, weeks * 7))).date()
        at = min(_working_moment(day, rng), now - dt.timedelta(hours=1))
        _one_case(cast, grid, classes[code], target, at, now, rng, make_photo)
    return count


def _one_case(cast: Cast, grid: Grid, category: SmallClass, target: str, at: dt.datetime, now: dt.datetime,
              rng: random.Random, make_photo) -> None:
    unit_code, text = DEMO_CLASSES[category.code]
    officer = grid.officers.first()
    hotline = target == Status.VERIFYING or rng.random() < 0.2  # hotline reports are verified first
    reporter = cast.acceptor if hotline else officer
    lon, lat = _point_in(grid, rng)
    attributes = {"area_m2": rng.randrange(6, 80)} if category.code in ("06001", "08016") else {}
    if category.code in ("06011", "08005"):  # dumping: volume in m³ (DOMAIN §12)
        attributes = {"volume_m3": rng.randrange(2, 40)}
    case = workflow.report_case(workflow.Report(
        category=category, source=Source.HOTLINE_12345 if hotline else Source.PATROL, lon=lon, lat=lat,
        address=f"{grid.community.name}{grid.name}附近", description=text.format(n=rng.randrange(2, 30)),
        attributes=attributes, photos=make_photo()), reporter=reporter, now=at)
    clock = [at]

    def step(action: str, actor: User, minutes: tuple[int, int] = (10, 90), **inputs) -> None:
        clock[0] = min(clock[0] + dt.timedelta(minutes=rng.randrange(*minutes)), now - dt.timedelta(minutes=5))
        case.refresh_from_db()
        workflow.transition(case, action, actor=actor, version=case.version, inputs=workflow.Inputs(**inputs),
                            now=clock[0])

    if target == Status.REPORTED:
        return
    if hotline:
        step("send_verify", cast.acceptor)
        if target == Status.VERIFYING:
            return
        step("verify", officer, outcome="confirmed")
    if target == Status.REJECTED:
        return step("reject", cast.acceptor, reason="经核实不属于城市管理范围")
    if target == Status.MERGED:
        other = Case.objects.open().filter(category=category).exclude(pk=case.pk).first()
        if other is not None:
            return step("merge", cast.acceptor, duplicate_of=other)
    step("accept", cast.acceptor)
    if target == Status.PENDING_REGISTRATION:
        return
    step("register", cast.shift_leader)
    if target == Status.DISPATCHING:
        return
    if target == Status.VOIDED:
        return step("void", cast.shift_leader, reason="重复录入，作废")
    unit = cast.units.get(unit_code) or next(iter(cast.units.values()))
    member = cast.members[unit.pk]
    step("dispatch", cast.dispatcher, unit=unit)
    _handle(case, step, cast, member, officer, target, rng, make_photo)


def _handle(case, step, cast: Cast, member: User, officer: User, target: str, rng, make_photo) -> None:
    if rng.random() < 0.08:
        step("request_extension", member, reason="工程量较大，申请延期", amount_minutes=24 * 60)
        step("approve_extension", cast.dispatcher)
    if rng.random() < 0.05:
        step("supervise", cast.shift_leader)
    if target == Status.SUSPENDED:
        step("request_suspension", member, reason="涉及产权纠纷，待认定")
        return step("approve_suspension", cast.dispatcher)
    if target == Status.HANDLING:
        return
    late = rng.random() < 0.15
    disposition = _disposition(case, rng)
    step("feedback", member, minutes=(20 * 60, 40 * 60) if late else (60, 600), photos=make_photo(), **disposition)
    if target == Status.CHECKING:
        return
    if rng.random() < 0.1:  # rework
        step("check", officer, outcome="fail", reason="现场仍有残留，需返工")
        step("feedback", member, minutes=(60, 300), photos=make_photo(), **disposition)
    step("check", officer, outcome="pass", photos=make_photo())
    if target == Status.CLOSING:
        return
    step("close", cast.shift_leader)


def _disposition(case, rng: random.Random) -> dict:
    """A 违建 ledger case's feedback names its disposition (DOMAIN §12): mostly demolished, in full or
    in part; else rectified, legalised or confiscated."""
    from decimal import Decimal

    from campaigns.models import LedgerLink

    link = LedgerLink.objects.select_related("entry").filter(case=case).first()
    if link is None:
        return {}
    if rng.random() < 0.75:
        left = link.entry.remaining_m2
        part = left if rng.random() < 0.7 else (left / 2).quantize(Decimal("0.01"))
        return {"disposition": "demolish", "demolished_m2": part}
    return {"disposition": rng.choice(["rectify", "legalise", "confiscate"])}
