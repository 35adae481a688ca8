"""The demo city's organisations and accounts (created only in demo mode, by `load_demo`)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from grids.models import Area, Grid, GridAssignment, Level
from people.models import Organisation, Role, User

DEMO_PASSWORD = "gridcase-demo"
CENTRE_CODE = "centre"
# Streets of the two demo officers: 斜塘街道 and 唯亭街道 (different streets, docs/domain.md §3).
OFFICER_COMMUNITIES = {"officer": "320505006023", "officer2": "320506009001"}

DEMO_ACCOUNTS = [
    ("officer", "监督员 patrol officer — 斜塘街道荷韵社区"),
    ("officer2", "监督员 patrol officer — 唯亭街道 (another street)"),
    ("acceptor", "受理员 acceptor — 监督指挥中心"),
    ("shiftleader", "值班长 shift leader — 监督指挥中心"),
    ("dispatcher", "派遣员 dispatcher — 监督指挥中心"),
    ("unit", "处置单位 handling unit member — 园区城市管理综合执法大队"),
    ("unit2", "处置单位 handling unit member — 园区环境卫生管理所"),
    ("viewer", "领导 viewer — read-only dashboards and reports"),
    ("admin", "管理员 administrator — /admin/"),
]

HANDLING_UNITS = [
    ("unit-enforcement", "园区城市管理综合执法大队", "unit"),
    ("unit-sanitation", "园区环境卫生管理所", "unit2"),
    ("unit-municipal", "园区市政设施管理处", None),
    ("unit-landscape", "园区园林绿化管理处", None),
    ("unit-traffic", "园区交通运输管理处", None),
    ("unit-construction", "园区建设工程管理中心", None),
]
# The named accounts' people (the project keeps a person's full name in first_name, as shown).
ACCOUNT_NAMES = {
    "officer": "王建国",
    "officer2": "李秀英",
    "acceptor": "张丽",
    "shiftleader": "刘志强",
    "dispatcher": "陈静",
    "unit": "杨军",
    "unit2": "赵敏",
    "viewer": "周国华",
    "admin": "吴涛",
}
UNIT_MEMBER_NAMES = {
    "unit-municipal": "孙海峰",
    "unit-landscape": "朱晓燕",
    "unit-traffic": "胡斌",
    "unit-construction": "郭鹏",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈任姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力斌宇浩凯鹏飞云峰雪梅琳晨欣怡子涵宁波海燕"  # noqa: E501


def chinese_name(key: str) -> str:
    """A deterministic Chinese name for a demo person (a surname and one or two given characters)."""
    digest = sum((i + 7) * ord(ch) for i, ch in enumerate(key))
    surname = SURNAMES[digest % len(SURNAMES)]
    first = GIVEN[(digest // 7) % len(GIVEN)]
    second = GIVEN[(digest // 131) % len(GIVEN)] if digest % 3 else ""
    return surname + first + second


ACCOUNT_ROLES = {
    "officer": Role.OFFICER,
    "officer2": Role.OFFICER,
    "acceptor": Role.ACCEPTOR,
    "shiftleader": Role.SHIFT_LEADER,
    "dispatcher": Role.DISPATCHER,
    "unit": Role.UNIT_MEMBER,
    "unit2": Role.UNIT_MEMBER,
    "viewer": Role.VIEWER,
    "admin": Role.ADMIN,
}


def _user(
    username: str,
    *,
    role: str,
    organisation: Organisation,
    full_name: str = "",
    usable_password: bool = True,
) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"role": role, "organisation": organisation, "first_name": full_name},
    )
    if (
        not created
        and full_name
        and (not user.first_name or user.first_name.endswith(("网格员", "处置员")))
    ):
        User.objects.filter(pk=user.pk).update(
            first_name=full_name
        )  # a demo loaded before names were given
    if created:
        if usable_password:
            user.set_password(DEMO_PASSWORD)
        else:
            user.set_unusable_password()
        user.is_staff = user.is_superuser = role == Role.ADMIN
        user.save()
    return user


@transaction.atomic
def create_demo_people() -> dict[str, User]:
    """Organisations, the named demo accounts, and one officer per community (一格一员). Idempotent."""
    centre, _ = Organisation.objects.get_or_create(
        code=CENTRE_CODE,
        defaults={"name": "园区城市管理监督指挥中心", "kind": Organisation.Kind.CENTRE},
    )
    units = {}
    for code, name, _account in HANDLING_UNITS:
        units[code], _ = Organisation.objects.get_or_create(
            code=code, defaults={"name": name, "kind": Organisation.Kind.HANDLING_UNIT}
        )
    for street in Area.objects.current().filter(level=Level.STREET):
        office, _ = Organisation.objects.get_or_create(
            code=f"street-{street.code}",
            defaults={
                "name": f"{street.name}办事处",
                "kind": Organisation.Kind.STREET_OFFICE,
                "area": street,
            },
        )
        if office.name != f"{street.name}办事处":  # the street was renamed (grids/area_names.py)
            Organisation.objects.filter(pk=office.pk).update(name=f"{street.name}办事处")
        Grid.objects.filter(code__startswith=street.code, responsible_unit__isnull=True).update(
            responsible_unit=office
        )
    accounts = {}
    unit_of_account = {account: units[code] for code, _name, account in HANDLING_UNITS if account}
    for username, _description in DEMO_ACCOUNTS:
        org = unit_of_account.get(username, centre)
        accounts[username] = _user(
            username,
            role=ACCOUNT_ROLES[username],
            organisation=org,
            full_name=ACCOUNT_NAMES.get(username, ""),
        )
    for code, name in UNIT_MEMBER_NAMES.items():
        _user(
            f"{code}-member",
            role=Role.UNIT_MEMBER,
            organisation=units[code],
            full_name=name,
            usable_password=False,
        )
    _assign_officers(accounts, centre)
    return accounts


def _assign_officers(accounts: dict[str, User], centre: Organisation) -> None:
    by_community = {code: accounts[username] for username, code in OFFICER_COMMUNITIES.items()}
    for community in Area.objects.current().filter(level=Level.COMMUNITY):
        officer = by_community.get(community.code) or _user(
            f"gy{community.code}",
            role=Role.OFFICER,
            organisation=centre,
            full_name=chinese_name(community.code),
            usable_password=False,
        )
        GridAssignment.objects.bulk_create(
            # From the day the demo's grids are in force: the history of cases and tracks is judged by it.
            [
                GridAssignment(grid=g, officer=officer, since=dt.date(2024, 1, 1))
                for g in community.grids.current()
            ],
            ignore_conflicts=True,
        )


def configure_demo_standards() -> None:
    """Default handling units for the demo's violation classes (an administrator's job in real life)."""
    from cases.demo import CLASSES as DEMO_CLASSES
    from cases.models import CaseStandard

    for code, (_weight, unit_code, _texts, _trivial) in DEMO_CLASSES.items():
        CaseStandard.objects.filter(
            small_class__code=code,
            small_class__big_class__kind="event",
            default_handling_unit__isnull=True,
        ).update(default_handling_unit=Organisation.objects.get(code=unit_code))
