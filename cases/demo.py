"""The demo city's case history: a park's last quarter, made by driving the workflow itself
(`report_case` + `transition` with the clock set to each historical moment); no status, event or
count is written directly, so every figure is honest and every invariant holds.

Shape (issue 18, docs/domain.md §4): `weeks` full weeks before the current one plus its days up to
yesterday, about `per_week` registered cases a week. Classes: 市容环境 and 街面秩序 most
frequent, 违建 (ledger cases with their area and disposition), 渣土, 宣传广告 present. Sources:
patrol about 70 % (working days, working hours), 12345/12319 hotline, public (Open311), leader and
media. Hot spots: a few grids with one problem again and again. Streets differ (volume and how
promptly their cases are worked); handling units have profiles: 环境卫生管理所 fast and clean,
综合执法大队 slow with rework, 市政设施管理处 receives misrouted cases and returns them. Every
path of docs/domain.md §4 appears: reject, merge, send_verify/verify (both outcomes), decline, return and
re-dispatch (and a denied return), extension (approved, denied), suspension and resume (and a
denied one), rework after a failed check, self_handle, void, supervise; a case whose next step
would fall after `now` simply stays where it is, so the last days leave open and overdue cases.

Deterministic for a seed and a `now`. Used by `load_demo` and tests/test_demo_city.py.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import shapely
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from cases import photos, workflow
from cases.models import Case, SmallClass, Source, Status
from grids.models import Grid, GridAssignment
from people.models import Organisation, Role, User

# small class → (weight, home unit, descriptions, trivial: an officer may fix it on the spot)
CLASSES: dict[str, tuple[float, str, tuple[str, ...], bool]] = {
    # 市容环境
    "06014": (11, "unit-sanitation", ("道路遗撒泥土约{n}米", "路面洒落建筑垃圾"), True),
    "06011": (
        10,
        "unit-sanitation",
        ("绿化带内积存垃圾渣土约{n}立方米", "路边积存生活垃圾未清运"),
        False,
    ),
    "06020": (4, "unit-landscape", ("绿地内焚烧树叶", "小区角落焚烧垃圾"), True),
    "06004": (4, "unit-municipal", ("建筑物外立面污损", "墙面涂鸦{n}处"), False),
    "06002": (3, "unit-enforcement", ("沿街店面无证装修",), False),
    "06001": (
        3,
        "unit-enforcement",
        ("人行道旁私搭乱建彩钢棚约{n}平方米", "院内违规搭建棚屋"),
        False,
    ),  # 违建
    # 街面秩序
    "09005": (9, "unit-enforcement", ("店外经营摆放货架", "餐饮店店外占道经营"), True),
    "09006": (7, "unit-enforcement", ("路口占道经营水果摊", "人行道占道经营"), False),
    "09001": (5, "unit-enforcement", ("流动摊贩无照经营", "地铁口游商兜售"), False),
    "09010": (7, "unit-traffic", ("非机动车乱停放{n}辆", "电动车堵塞人行道"), True),
    "09009": (4, "unit-traffic", ("机动车占用人行道停放", "车辆乱停堵塞消防通道"), False),
    "09011": (4, "unit-traffic", ("共享单车堆积约{n}辆", "共享单车倒伏堵塞盲道"), True),
    # 宣传广告
    "07001": (6, "unit-sanitation", ("电线杆上张贴非法小广告{n}处", "公交站台小广告"), True),
    "07003": (2, "unit-enforcement", ("楼顶违规设置户外广告牌", "未经审批设置广告横幅"), False),
    "07006": (2, "unit-enforcement", ("店招店牌破损", "违规设置牌匾标识"), False),
    # 施工管理: 违建 and 渣土
    "08016": (
        1.5,
        "unit-construction",
        ("小区内无证建设二层砖混结构", "厂区内无证建设仓库"),
        False,
    ),
    "08005": (2, "unit-construction", ("夜间违法倾倒渣土", "工地施工废弃料未清运"), False),
    # 部件
    "01001": (2, "unit-municipal", ("供水井盖破损缺失", "井盖松动异响"), False),
    "04001": (1, "unit-landscape", ("古树名木枝干断裂",), False),
}
CONSTRUCTION = {"06001", "08016"}
DUMPING = {"06011", "08005"}


@dataclass(frozen=True)
class Profile:
    """How a handling unit works: feedback at a share of its allowed time, and its rates."""

    within: tuple[float, float]  # on-time feedback at this share of dispatch→deadline
    late: float
    rework: float
    extension: float
    suspension: float
    misrouted: float = 0.005  # share of all cases a dispatcher first sends here by mistake


PROFILES = {
    "unit-sanitation": Profile(
        within=(0.05, 0.45), late=0.02, rework=0.015, extension=0.01, suspension=0.005
    ),
    "unit-enforcement": Profile(
        within=(0.4, 0.97), late=0.3, rework=0.14, extension=0.12, suspension=0.04
    ),
    "unit-municipal": Profile(
        within=(0.2, 0.85), late=0.1, rework=0.05, extension=0.05, suspension=0.03, misrouted=0.04
    ),
    "unit-landscape": Profile(
        within=(0.2, 0.85), late=0.12, rework=0.06, extension=0.06, suspension=0.03
    ),
    "unit-traffic": Profile(
        within=(0.1, 0.7), late=0.06, rework=0.04, extension=0.02, suspension=0.01
    ),
    "unit-construction": Profile(
        within=(0.3, 0.9), late=0.18, rework=0.08, extension=0.15, suspension=0.06
    ),
}
# source → (share of reports, reporter kind)
SOURCES = [
    (Source.PATROL, 70),
    (Source.HOTLINE_12345, 15),
    (Source.PUBLIC, 8),
    (Source.HOTLINE_12319, 3),
    (Source.LEADER, 2),
    (Source.MEDIA, 2),
]
ROADS = [
    "星湖街",
    "现代大道",
    "金鸡湖大道",
    "苏州大道东",
    "星海街",
    "东环路",
    "娄江大道",
    "唯新路",
    "青秋浦路",
    "胜浦路",
    "星港街",
    "南施街",
    "松涛街",
    "钟南街",
    "金湖路",
    "通园路",
    "葑亭大道",
    "淞江路",
    "华池街",
    "月亮湾路",
]
CALLERS = ["张先生", "李女士", "王先生", "陈女士", "刘先生", "周女士", "吴先生", "徐女士"]
# Rare paths, each forced once on the first cases so that even a small demo shows every one.
FORCED = [
    "reject",
    "merge",
    "not_confirmed",
    "decline",
    "return",
    "return_denied",
    "extension",
    "extension_denied",
    "suspension",
    "suspension_denied",
    "rework",
    "self_handle",
    "void",
    "supervise",
]
REGISTERED_SHARE = 0.8  # of the reports planned, about this share gets registered (with margin)
WORK = (
    (8 * 60 + 30, 12 * 60),
    (13 * 60 + 30, 17 * 60 + 30),
)  # docs/domain.md §5 default working periods


@dataclass
class Cast:
    acceptor: User
    shift_leader: User
    dispatcher: User
    viewer: User
    units: dict[str, Organisation]
    members: dict[str, User]
    officers: dict[int, User]  # grid id → its officer


@dataclass
class City:
    """What the generator draws from: grids with their weights, hot spots, street factors."""

    grids: list[Grid]
    weights: list[float]
    hot: list[tuple[Grid, str]]
    slowness: dict[str, float]  # street code → multiplier of late feedback
    shapes: dict[int, object] = field(default_factory=dict)


def _cast() -> Cast:
    units = {
        o.code: o
        for o in Organisation.objects.filter(kind=Organisation.Kind.HANDLING_UNIT, active=True)
    }
    members = {}
    for code, unit in units.items():
        member = unit.members.filter(role=Role.UNIT_MEMBER, is_active=True).order_by("pk").first()
        if member is None:
            member = User.objects.create(
                username=f"{code}-member",
                role=Role.UNIT_MEMBER,
                organisation=unit,
                first_name=f"{unit.name}处置员",
            )
            member.set_unusable_password()
            member.save()
        members[code] = member
    officers = {}
    for a in (
        GridAssignment.objects.in_force(timezone.localdate())
        .select_related("officer")
        .order_by("pk")
    ):
        officers.setdefault(a.grid_id, a.officer)
    return Cast(
        acceptor=User.objects.get(username="acceptor"),
        shift_leader=User.objects.get(username="shiftleader"),
        dispatcher=User.objects.get(username="dispatcher"),
        viewer=User.objects.get(username="viewer"),
        units=units,
        members=members,
        officers=officers,
    )


def _city(cast: Cast, rng: random.Random) -> City:
    grids = [
        g
        for g in Grid.objects.current().select_related("community").order_by("code")
        if g.pk in cast.officers
    ]
    streets = sorted({g.code[:9] for g in grids})
    volume = {s: rng.uniform(0.5, 1.6) for s in streets}
    slowness = {s: rng.uniform(0.5, 1.8) for s in streets}
    communities = sorted({g.code[:12] for g in grids})
    busy = {c: rng.choice([0.4, 0.7, 1.0, 1.0, 1.3, 2.0]) for c in communities}
    weights = [
        volume[g.code[:9]] * busy[g.code[:12]] * (1.0 if g.grid_type != "专属网格" else 0.4)
        for g in grids
    ]
    picked = rng.sample(grids, k=min(len(grids), 16))
    hot_classes = ["09005", "06014", "09010", "07001", "06011", "09006", "09001", "08005"]
    hot = [(g, hot_classes[i % len(hot_classes)]) for i, g in enumerate(picked)]
    return City(grids=grids, weights=weights, hot=hot, slowness=slowness)


PHOTO_VARIANTS = 12


def demo_photo(variant: int) -> list[dict]:
    """One of the demo's photos, stored (content-addressed, idempotent): its Photo fields."""
    image = Image.new("RGB", (480, 360), (90 + variant * 12, 120, 160 - variant * 8))
    ImageDraw.Draw(image).rectangle((60, 80, 420, 300), outline=(255, 255, 255), width=6)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    processed = photos.process_photo(buffer.getvalue(), filename=f"demo-{variant}.jpg")
    return [photos.photo_record(processed, photos.store_photo(processed))]


def _photo_maker(rng: random.Random) -> Callable[[], list[dict]]:
    cache: dict[int, list[dict]] = {}

    def make() -> list[dict]:
        variant = rng.randrange(PHOTO_VARIANTS)
        if variant not in cache:
            cache[variant] = demo_photo(variant)
        return cache[variant]

    return make


class Clock:
    """Working time (docs/domain.md §5 default periods on the calendar's working days), cheap enough to be
    asked a hundred thousand times: the demo's step delays; the workflow computes the deadlines."""

    def __init__(self, workdays: set[dt.date]) -> None:
        self.workdays = workdays
        self.tz = timezone.get_current_timezone()

    def later(self, moment: dt.datetime, minutes: float) -> dt.datetime:
        local = timezone.localtime(moment, self.tz)
        day, minute = local.date(), local.hour * 60 + local.minute + local.second / 60
        left = minutes
        for _ in range(400):
            if day in self.workdays:
                for start, end in WORK:
                    if minute >= end:
                        continue
                    begin = max(minute, start)
                    if begin + left <= end:
                        total = begin + left
                        return dt.datetime.combine(day, dt.time(0), self.tz) + dt.timedelta(
                            minutes=total
                        )
                    left -= end - begin
                    minute = end
            day, minute = day + dt.timedelta(days=1), 0
        raise ValueError("no working time within 400 days")

    def snap(self, moment: dt.datetime) -> dt.datetime:
        """`moment` if it is working time, else the next working period's start."""
        return self.later(moment, 0)


def generate_demo_cases(
    *,
    weeks: int = 13,
    per_week: int = 300,
    count: int | None = None,
    seed: int = 20261129,
    now: dt.datetime | None = None,
    progress: Callable[[int], object] | None = None,
    since: dt.date | None = None,
) -> int:
    """Make the history; returns how many cases were reported (0 if any case exists).

    `weeks` full weeks before the current one, and the current one up to yesterday, with about
    `per_week` registered cases a week. `count` (older callers): about that many reports in all,
    over `weeks` weeks. `progress(n)` is called with each day's number of reports. `since`: the
    days from that one up to yesterday only, after a restored history (backend/demo_fixture.py)
    that ends there; the rare paths are not forced again."""
    if since is None and Case.objects.exists():
        return 0
    from patrol.coverage import working_days
    from worktime.clock import calendar_pinned

    now = now or timezone.now()
    rng = random.Random(seed)
    today = timezone.localdate(now)
    first = since or today - dt.timedelta(days=today.weekday() + 7 * weeks)
    days = [first + dt.timedelta(days=i) for i in range((today - first).days)]
    clock = Clock(set(working_days(first, today + dt.timedelta(days=60))))
    cast = _cast()
    city = _city(cast, rng)
    if since is not None:  # the same city (hot spots, the streets' pace), other days' draws
        rng = random.Random(seed + since.toordinal())
    classes = {
        c.code: c
        for c in SmallClass.objects.available()
        .filter(code__in=CLASSES, big_class__kind="event")
        .select_related("case_standard")
    }
    codes = [c for c in CLASSES if c in classes]
    class_weights = [CLASSES[c][0] for c in codes]
    make_photo = _photo_maker(rng)
    reports_per_week = (count / max(weeks, 1)) if count is not None else per_week / REGISTERED_SHARE
    plans = _plan_days(days, clock, reports_per_week, rng)
    if count is not None:
        plans = plans[:count]
    forced = list(FORCED) if since is None else []
    made = 0
    with calendar_pinned():
        for day in days:
            todays = [p for p in plans if p[0].date() == day]
            with transaction.atomic():
                for at, source in todays:
                    flags = _forced(forced, source) if at < now - dt.timedelta(days=4) else set()
                    code, grid = _what_and_where(city, codes, class_weights, source, flags, rng)
                    Story(
                        cast,
                        city,
                        clock,
                        classes[code],
                        grid,
                        source,
                        at,
                        now,
                        rng,
                        make_photo,
                        flags,
                    ).run()
                    made += 1
            if progress is not None:
                progress(len(todays))
    return made


def _forced(forced: list[str], source: str) -> set[str]:
    """The next rare path still to show that suits a report from `source` (taken off the list)."""
    public = {"merge", "not_confirmed"}
    fits = (
        public
        if source in (Source.HOTLINE_12345, Source.PUBLIC)
        else (set(FORCED) - public if source == Source.PATROL else set())
    )
    flag = next((f for f in forced if f in fits), None)
    if flag is None:
        return set()
    forced.remove(flag)
    return {flag}


def planned_reports(*, weeks: int, per_week: int, now: dt.datetime | None = None) -> int:
    """About how many reports `generate_demo_cases` makes (for a progress bar)."""
    today = timezone.localdate(now or timezone.now())
    days = today.weekday() + 7 * weeks
    return round(days / 7 * per_week / REGISTERED_SHARE * 1.04)


def _plan_days(
    days: list[dt.date], clock: Clock, per_week: float, rng: random.Random
) -> list[tuple[dt.datetime, str]]:
    """(moment, source) of every report, in time order."""
    tz = timezone.get_current_timezone()
    patrol_share = dict(SOURCES)[Source.PATROL] / sum(w for _s, w in SOURCES)
    others = [(s, w) for s, w in SOURCES if s != Source.PATROL]
    plans = []
    weekday_factor = [1.2, 1.05, 1.0, 1.0, 0.85, 0.6, 0.5]
    for day in days:
        workday = day in clock.workdays
        patrol = per_week * patrol_share / 5 * weekday_factor[day.weekday()] if workday else 0
        public = per_week * (1 - patrol_share) / 6.2 * (1.0 if workday else 0.6)
        for source_pick, expected in ((Source.PATROL, patrol), (None, public)):
            n = round(expected * rng.uniform(0.85, 1.15)) if expected else 0
            for _ in range(n):
                source = (
                    source_pick or rng.choices([s for s, _w in others], [w for _s, w in others])[0]
                )
                minute = _minute_of_day(source, workday, rng)
                plans.append(
                    (
                        dt.datetime.combine(day, dt.time(0), tz) + dt.timedelta(minutes=minute),
                        source,
                    )
                )
    plans.sort()
    return plans


def _minute_of_day(source: str, workday: bool, rng: random.Random) -> float:
    if source == Source.PATROL:  # the morning and afternoon rounds
        start, end = rng.choices(WORK, [3, 4])[0]
        return rng.triangular(start, end, start + (end - start) * 0.45)
    if source == Source.PUBLIC:  # the phone app: lunch and evening peaks
        hour = rng.choices(range(7, 23), [1, 2, 3, 3, 3, 4, 3, 2, 2, 2, 3, 3, 4, 4, 3, 2])[0]
        return hour * 60 + rng.uniform(0, 60)
    if source in (Source.LEADER, Source.MEDIA) or not workday:
        return rng.uniform(9 * 60, 17 * 60)
    hour = rng.choices(range(8, 21), [3, 5, 5, 4, 2, 3, 5, 5, 4, 2, 2, 1, 1])[0]  # the hotline
    return hour * 60 + rng.uniform(0, 60)


def _what_and_where(
    city: City,
    codes: list[str],
    weights: list[float],
    source: str,
    flags: set[str],
    rng: random.Random,
) -> tuple[str, Grid]:
    if "self_handle" in flags:
        return "07001", rng.choices(city.grids, city.weights)[0]
    if source in (Source.PATROL, Source.HOTLINE_12345) and rng.random() < 0.14:
        grid, code = rng.choice(city.hot)
        if code in dict.fromkeys(codes):
            return code, grid
    return rng.choices(codes, weights)[0], rng.choices(city.grids, city.weights)[0]


class Stop(Exception):
    """The story's next step would fall after `now`: the case stays where it is."""


class Story:
    """One case's life, step by step through the workflow, each at its historical moment."""

    def __init__(
        self,
        cast: Cast,
        city: City,
        clock: Clock,
        category: SmallClass,
        grid: Grid,
        source: str,
        at: dt.datetime,
        now: dt.datetime,
        rng: random.Random,
        make_photo,
        flags: set[str],
    ) -> None:
        self.cast, self.city, self.clock, self.category, self.grid = (
            cast,
            city,
            clock,
            category,
            grid,
        )
        self.source, self.t, self.now, self.rng, self.make_photo, self.flags = (
            source,
            at,
            now,
            rng,
            make_photo,
            flags,
        )
        self.officer = cast.officers[grid.pk]
        self.case: Case | None = None

    def chance(self, flag: str, p: float) -> bool:
        """A forced case takes its one rare path and no other."""
        return flag in self.flags if self.flags else self.rng.random() < p

    def act(
        self,
        action: str,
        actor: User,
        minutes: tuple[float, float] = (5, 45),
        *,
        case: Case | None = None,
        **inputs,
    ) -> None:
        """`action` after that many working minutes; Stop when that moment is not past yet."""
        at = self.clock.later(self.t, self.rng.uniform(*minutes))
        self._at(action, actor, at, case=case, **inputs)

    def _at(
        self, action: str, actor: User, at: dt.datetime, *, case: Case | None = None, **inputs
    ) -> None:
        if at >= self.now:
            raise Stop
        self.t = at
        # version None: the workflow reads the case under its lock (nobody else acts on demo cases)
        workflow.transition(
            case or self.case,
            action,
            actor=actor,
            version=None,
            inputs=workflow.Inputs(**inputs),
            now=at,
        )

    def step_minutes(self) -> tuple[float, float]:
        """A centre step: mostly within its 1 工作时 limit, now and then late."""
        return (70, 300) if self.rng.random() < 0.04 else (3, 50)

    def run(self) -> None:
        try:
            self._run()
        except Stop:
            pass

    # --- the story ---------------------------------------------------------------------------

    def _report(self, at: dt.datetime, source: str, *, self_handle: bool = False) -> Case:
        rng, grid, code = self.rng, self.grid, self.category.code
        reporter = {Source.PATROL: self.officer, Source.PUBLIC: None}.get(
            source, self.cast.acceptor
        )
        lon, lat = _point_in(self.city, grid, rng)
        attributes: dict = {}
        if code in CONSTRUCTION:
            attributes = {
                "area_m2": rng.randrange(6, 120),
                "structure": rng.choice(["steel_shed", "brick", "other"]),
            }
        elif code in DUMPING:
            attributes = {"volume_m3": rng.randrange(2, 40)}
        contact = {}
        if source != Source.PATROL:
            contact = {"name": rng.choice(CALLERS), "phone": f"139{rng.randrange(10**7, 10**8)}"}
            if source == Source.PUBLIC:
                contact["via"] = "园区城管APP"
        texts = CLASSES[code][2]
        description = rng.choice(texts).format(n=rng.randrange(2, 30))
        address = f"{grid.community.name if grid.community_id else ''}{rng.choice(ROADS)}{rng.randrange(1, 400)}号附近"
        return workflow.report_case(
            workflow.Report(
                category=self.category,
                source=source,
                lon=lon,
                lat=lat,
                address=address,
                description=description,
                attributes=attributes,
                contact=contact,
                photos=self.make_photo(),
                category_checked=True,
            ),
            reporter=reporter,
            now=at,
            self_handle=self_handle,
        )

    def _run(self) -> None:
        cast = self.cast
        trivial = CLASSES[self.category.code][3]
        if self.source == Source.PATROL and trivial and self.chance("self_handle", 0.22):
            try:
                self.case = self._report(self.t, self.source, self_handle=True)
            except PermissionDenied:  # the point fell in a neighbour's grid: reported the usual way
                self.case = None
            if self.case is not None:
                return self.act("close", cast.shift_leader, self.step_minutes())
        self.case = self._report(self.t, self.source)
        self.officer = cast.officers.get(
            self.case.grid_id, self.officer
        )  # the grid the point fell in
        if self.source in (
            Source.HOTLINE_12345,
            Source.HOTLINE_12319,
            Source.PUBLIC,
        ) and self.chance("merge", 0.04):
            self._duplicate()
        if self.source in (Source.HOTLINE_12345, Source.HOTLINE_12319, Source.PUBLIC):
            if self.source == Source.PUBLIC and self.chance("reject", 0.06):
                return self.act(
                    "reject", cast.acceptor, self.step_minutes(), reason="信息不全，无法定位"
                )
            self.act("send_verify", cast.acceptor, self.step_minutes())
            if self.chance("not_confirmed", 0.1):
                return self.act(
                    "verify",
                    self.officer,
                    (20, 120),
                    outcome="not_confirmed",
                    reason="现场未发现该问题",
                )
            self.act("verify", self.officer, (20, 100), outcome="confirmed")
        elif self.chance("reject", 0.025):
            return self.act(
                "reject", cast.acceptor, self.step_minutes(), reason="不属于城市管理范围"
            )
        self.act("accept", cast.acceptor, self.step_minutes())
        if self.chance("decline", 0.02):
            return self.act(
                "decline",
                cast.shift_leader,
                self.step_minutes(),
                reason="已由其他部门处理，不予立案",
            )
        self.act("register", cast.shift_leader, self.step_minutes())
        if self.chance("void", 0.012):
            return self.act("void", cast.shift_leader, (5, 30), reason="重复录入，作废")
        self._dispatch_and_handle()

    def _duplicate(self) -> None:
        """Someone else reports the same problem an hour or two later; the acceptor merges it."""
        at = self.clock.later(self.t, self.rng.uniform(10, 90))
        if at >= self.now:
            raise Stop
        duplicate = self._report(at, self.rng.choice([Source.HOTLINE_12345, Source.PUBLIC]))
        when = self.clock.later(at, self.rng.uniform(5, 30))
        if when >= self.now:
            raise Stop
        workflow.transition(
            duplicate,
            "merge",
            actor=self.cast.acceptor,
            version=None,
            inputs=workflow.Inputs(duplicate_of=self.case),
            now=when,
        )
        self.t = max(self.t, when)

    def _dispatch_and_handle(self) -> None:
        rng, cast = self.rng, self.cast
        home = CLASSES[self.category.code][1]
        home = home if home in cast.units else next(iter(sorted(cast.units)))
        first = home
        wrong = [code for code, p in PROFILES.items() if code != home and code in cast.units]
        if "return" in self.flags or "return_denied" in self.flags:
            first = (
                "unit-municipal"
                if home != "unit-municipal" and "unit-municipal" in cast.units
                else wrong[0]
            )
        elif wrong and rng.random() < sum(PROFILES[c].misrouted for c in wrong):
            first = rng.choices(wrong, [PROFILES[c].misrouted for c in wrong])[0]
        self.case.refresh_from_db()
        if self.case.status == Status.DISPATCHING:  # else a dispatch rule did it at register
            self.act("dispatch", cast.dispatcher, self.step_minutes(), unit=cast.units[first])
        self.case.refresh_from_db()
        unit = next((code for code, o in cast.units.items() if o.pk == self.case.unit_id), home)
        if unit != home:
            self.act(
                "request_return",
                cast.members[unit],
                (30, 240),
                reason="不属于本单位职责范围，申请回退",
            )
            if self.chance("return_denied", 0.12) and "return" not in self.flags:
                self.act(
                    "deny_return",
                    cast.dispatcher,
                    self.step_minutes(),
                    reason="属于本单位养护范围，请处置",
                )
            else:
                self.act("approve_return", cast.dispatcher, self.step_minutes())
                self.act("dispatch", cast.dispatcher, self.step_minutes(), unit=cast.units[home])
                unit = home
        self._handle(unit)

    def _handle(self, unit: str) -> None:
        rng, cast, profile = self.rng, self.cast, PROFILES.get(unit, PROFILES["unit-landscape"])
        member = cast.members[unit]
        street = self.grid.code[:9]
        late = rng.random() < min(0.9, profile.late * self.city.slowness.get(street, 1.0))
        if self.chance("supervise", 0.02 + (0.15 if late else 0)):
            self.act("supervise", rng.choice([cast.shift_leader] * 4 + [cast.viewer]), (60, 600))
        if self.chance("extension", profile.extension) or "extension_denied" in self.flags:
            self.act(
                "request_extension",
                member,
                (30, 300),
                reason="工程量较大，申请延期",
                amount_minutes=rng.choice([240, 450, 900]),
            )
            if "extension_denied" in self.flags or (
                "extension" not in self.flags and rng.random() < 0.25
            ):
                self.act(
                    "deny_extension",
                    cast.dispatcher,
                    self.step_minutes(),
                    reason="可在时限内完成，不予延期",
                )
            else:
                self.act("approve_extension", cast.dispatcher, self.step_minutes())
        if self.chance("suspension", profile.suspension) or "suspension_denied" in self.flags:
            self.act("request_suspension", member, (30, 300), reason="涉及产权纠纷，待相关部门认定")
            if "suspension_denied" in self.flags or (
                "suspension" not in self.flags and rng.random() < 0.15
            ):
                self.act(
                    "deny_suspension",
                    cast.dispatcher,
                    self.step_minutes(),
                    reason="不属于挂账情形，请继续处置",
                )
            else:
                self.act("approve_suspension", cast.dispatcher, self.step_minutes())
                self.act("resume", cast.dispatcher, (450, 5 * 450))
        self._feedback(member, profile, late)
        if self.chance("rework", profile.rework):
            self.act(
                "check", self.officer, (20, 240), outcome="fail", reason="现场仍有残留，需返工"
            )
            self._feedback(member, profile, late=False, rework=True)
        self.act("check", self.officer, (20, 200), outcome="pass", photos=self.make_photo())
        self.act("close", cast.shift_leader, self.step_minutes())

    def _feedback(
        self, member: User, profile: Profile, late: bool, *, rework: bool = False
    ) -> None:
        self.case.refresh_from_db()
        deadline = self.case.deadline
        if rework:
            at = self.clock.later(self.t, self.rng.uniform(60, 900))
        elif late or deadline is None:
            at = self.clock.later(max(self.t, deadline or self.t), self.rng.uniform(30, 3 * 450))
        else:
            start = self.t
            share = self.rng.uniform(*profile.within)
            at = self.clock.snap(start + (deadline - start) * share)
            if at > deadline:
                at = max(
                    start + dt.timedelta(minutes=1),
                    deadline - dt.timedelta(minutes=self.rng.uniform(5, 40)),
                )
        if at <= self.t:
            at = self.t + dt.timedelta(minutes=2)
        self._at("feedback", member, at, photos=self.make_photo(), **self._disposition())

    def _disposition(self) -> dict:
        """A 违建 ledger case's feedback names its disposition (docs/domain.md §12): mostly demolished, in full
        or in part; else rectified, legalised or confiscated."""
        from campaigns.models import LedgerLink

        if self.category.code not in CONSTRUCTION:
            return {}
        link = LedgerLink.objects.select_related("entry").filter(case=self.case).first()
        if link is None or not link.entry.is_open:
            return {}
        if self.rng.random() < 0.75:
            left = link.entry.remaining_m2
            part = left if self.rng.random() < 0.7 else (left / 2).quantize(Decimal("0.01"))
            return {"disposition": "demolish", "demolished_m2": part}
        return {"disposition": self.rng.choice(["rectify", "legalise", "confiscate"])}


def _point_in(city: City, grid: Grid, rng: random.Random) -> tuple[float, float]:
    polygon = city.shapes.get(grid.pk)
    if polygon is None:
        polygon = city.shapes[grid.pk] = shapely.from_geojson(grid.geometry)
        shapely.prepare(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(50):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(polygon, x, y):
            return x, y
    point = polygon.representative_point()
    return point.x, point.y
