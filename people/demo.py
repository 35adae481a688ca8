"""The demo city's organisations and accounts (created only in demo mode, by `load_demo`)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from grids.models import Area, Grid, GridAssignment, Level
from people.models import Organisation, Role, User

DEMO_PASSWORD = "gridcase-demo"
CENTRE_CODE = "centre"
# Streets of the two demo officers: 斜塘街道 and 唯亭街道 (different streets, DOMAIN §3).
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
]
ACCOUNT_ROLES = {
    "officer": Role.OFFICER, "officer2": Role.OFFICER, "acceptor": Role.ACCEPTOR,
    "shiftleader": Role.SHIFT_LEADER, "dispatcher": Role.DISPATCHER, "unit": Role.UNIT_MEMBER,
    "unit2": Role.UNIT_MEMBER, "viewer": Role.VIEWER, "admin": Role.ADMIN,
}


def _user(username: str, *, role: str, organisation: Organisation, full_name: str = "",
          usable_password: bool = True) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={
        "role": role, "organisation": organisation, "first_name": full_name})
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
        code=CENTRE_CODE, defaults={"name": "园区城市管理监督指挥中心", "kind": Organisation.Kind.CENTRE})
    units = {}
    for code, name, account in HANDLING_UNITS:
        units[code], _ = Organisation.objects.get_or_create(
            code=code, defaults={"name": name, "kind": Organisation.Kind.HANDLING_UNIT})
    for street in Area.objects.current().filter(level=Level.STREET):
        office, _ = Organisation.objects.get_or_create(
            code=f"street-{street.code}",
            defaults={"name": f"{street.name}办事处", "kind": Organisation.Kind.STREET_OFFICE, "area": street})
        Grid.objects.filter(code__startswith=street.code, responsible_unit__isnull=True).update(
            responsible_unit=office)
    accounts = {}
    unit_of_account = {account: units[code] for code, _name, account in HANDLING_UNITS if account}
    for username, _description in DEMO_ACCOUNTS:
        org = unit_of_account.get(username, centre)
        accounts[username] = _user(username, role=ACCOUNT_ROLES[username], organisation=org)
    _assign_officers(accounts, centre)
    return accounts


def _assign_officers(accounts: dict[str, User], centre: Organisation) -> None:
    by_community = {code: accounts[username] for username, code in OFFICER_COMMUNITIES.items()}
    for community in Area.objects.current().filter(level=Level.COMMUNITY):
        officer = by_community.get(community.code) or _user(
            f"gy{community.code}", role=Role.OFFICER, organisation=centre,
            full_name=f"{community.name}网格员", usable_password=False)
        GridAssignment.objects.bulk_create(
            # From the day the demo's grids are in force: the history of cases and tracks is judged by it.
            [GridAssignment(grid=g, officer=officer, since=dt.date(2024, 1, 1)) for g in community.grids.current()],
            ignore_conflicts=True)


def configure_demo_standards() -> None:
    """Default handling units for the demo's violation classes (an administrator's job in real life)."""
    from cases.demo import DEMO_CLASSES
    from cases.models import CaseStandard

    for code, (unit_code, _text) in DEMO_CLASSES.items():
        CaseStandard.objects.filter(small_class__code=code, small_class__big_class__kind="event",
                                    default_handling_unit__isnull=True).update(
            default_handling_unit=Organisation.objects.get(code=unit_code))
