"""The city directory in one workbook (issue 23): organisations, people, grid assignments and
dispatch rules, imported with `manage.py import_directory FILE.xlsx [--dry-run]` or the admin's
upload page (docs/onboarding.md).

Sheets (each optional; a sheet that is there is the whole truth for what it holds):
- 组织 organisations: 编码 code, 名称 name, 类型 kind, 所属区域 area code (empty: the whole city), 电话 phone
- 人员 people: 用户名 username, 姓名 name, 电话 phone, 组织 organisation code, 角色 role, 启用 active
- 网格分配 grid assignments: 网格编码 grid code, 监督员 officer username, 开始日期 from, 结束日期 to
  (the first day no longer in force; empty: open)
- 派遣规则 dispatch rules: 类型 部件/事件, 类别编码 small or big class code, 区域编码前缀 area code prefix
  (empty: the city), 处置单位 unit code, 优先级 priority (1 wins over 2)

Two phases, as grids/importer.py: `read_workbook()` + `validate()` collect every problem, each naming
its sheet, row and field; `apply()` writes everything in one transaction and only when there is no
error. Re-importing updates organisations by code and people by username, and closes what the
file no longer has: organisations and people are deactivated (never deleted), assignments closed,
rules replaced. New people get no usable password; `apply()` returns a one-time sign-in link for each
(Django's password-reset link: it works once, until the password is set, for PASSWORD_RESET_TIMEOUT).
A workbook never carries a password.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from cases.dispatch_rules import SYSTEM_ORGANISATION, SYSTEM_USERNAME
from cases.models import LOCAL_STANDARD, BigClass, DispatchRule, SmallClass
from grids.models import Area, Grid, GridAssignment
from people.models import Organisation, Role, User

ORGANISATIONS, PEOPLE, ASSIGNMENTS, RULES = "组织", "人员", "网格分配", "派遣规则"
SHEETS = (ORGANISATIONS, PEOPLE, ASSIGNMENTS, RULES)
# Per sheet: field → (header written by --template, other headers understood); required fields first.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    ORGANISATIONS: {
        "code": ("编码", "code", "组织编码"),
        "name": ("名称", "name", "组织名称"),
        "kind": ("类型", "kind"),
        "area": ("所属区域", "area", "区域编码", "parent area"),
        "phone": ("电话", "phone"),
    },
    PEOPLE: {
        "username": ("用户名", "username", "账号"),
        "name": ("姓名", "name"),
        "phone": ("电话", "phone", "手机"),
        "organisation": ("组织", "organisation", "组织编码"),
        "role": ("角色", "role"),
        "active": ("启用", "active", "在岗"),
    },
    ASSIGNMENTS: {
        "grid": ("网格编码", "grid", "grid code"),
        "officer": ("监督员", "officer", "用户名", "username"),
        "start": ("开始日期", "from", "起"),
        "end": ("结束日期", "to", "止"),
    },
    RULES: {
        "kind": ("类型", "kind"),
        "class": ("类别编码", "class", "小类或大类编码", "小类编码", "大类编码"),
        "prefix": ("区域编码前缀", "area prefix", "prefix", "区域"),
        "unit": ("处置单位", "unit", "处置单位编码"),
        "priority": ("优先级", "priority"),
    },
}
REQUIRED = {
    ORGANISATIONS: ("code", "name", "kind"),
    PEOPLE: ("username", "organisation", "role"),
    ASSIGNMENTS: ("grid", "officer", "start"),
    RULES: ("class", "unit"),
}

KIND_NAMES = {
    "监督中心": Organisation.Kind.CENTRE,
    "监督指挥中心": Organisation.Kind.CENTRE,
    "处置单位": Organisation.Kind.HANDLING_UNIT,
    "街道办事处": Organisation.Kind.STREET_OFFICE,
    "街道": Organisation.Kind.STREET_OFFICE,
    "公众": Organisation.Kind.PUBLIC,
    **{k.value: k.value for k in Organisation.Kind},
}
KIND_LABEL = {
    Organisation.Kind.CENTRE: "监督中心",
    Organisation.Kind.HANDLING_UNIT: "处置单位",
    Organisation.Kind.STREET_OFFICE: "街道办事处",
    Organisation.Kind.PUBLIC: "公众",
}
STAFF_ROLES = (
    Role.OFFICER,
    Role.ACCEPTOR,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.UNIT_MEMBER,
    Role.VIEWER,
    Role.ADMIN,
)
ROLE_LABEL = {
    Role.OFFICER: "监督员",
    Role.ACCEPTOR: "受理员",
    Role.SHIFT_LEADER: "值班长",
    Role.DISPATCHER: "派遣员",
    Role.UNIT_MEMBER: "处置单位人员",
    Role.VIEWER: "领导",
    Role.ADMIN: "管理员",
}
ROLE_NAMES = {
    **{label: role for role, label in ROLE_LABEL.items()},
    "处置人员": Role.UNIT_MEMBER,
    "单位人员": Role.UNIT_MEMBER,
    **{r.value: r.value for r in STAFF_ROLES},
}
CLASS_KINDS = {
    "部件": "component",
    "管理部件": "component",
    "事件": "event",
    "管理事项": "event",
    "事项": "event",
    "component": "component",
    "event": "event",
}
TRUE, FALSE = (
    {"是", "1", "true", "yes", "y", "启用", "在岗", "√"},
    {"否", "0", "false", "no", "n", "停用", "离岗"},
)
USERNAME = re.compile(r"^[\w.@+-]{1,150}$")
RESERVED_USERNAMES = {SYSTEM_USERNAME}
RESERVED_CODES = {SYSTEM_ORGANISATION}


@dataclass
class Problem:
    sheet: str
    row: int | None  # the worksheet's row number (1 is the header)
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.sheet} row {self.row}" if self.row else self.sheet
        return (
            f"ERROR   {where}, {self.field}: {self.message}"
            if self.field
            else f"ERROR   {where}: {self.message}"
        )


@dataclass
class OrgRow:
    row: int
    code: str
    name: str
    kind: str
    area: str
    phone: str


@dataclass
class PersonRow:
    row: int
    username: str
    name: str
    phone: str
    organisation: str
    role: str
    active: bool


@dataclass
class AssignmentRow:
    row: int
    grid: str
    officer: str
    start: dt.date
    end: dt.date | None


@dataclass
class RuleRow:
    row: int
    kind: str
    code: str
    prefix: str
    unit: str
    priority: int
    small_class_id: int | None = None
    big_class_id: int | None = None


@dataclass
class DirectoryReport:
    """What a workbook holds and every problem found; `validate()` fills in the references."""

    file: str
    sheets: list[str] = field(default_factory=list)
    organisations: list[OrgRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    assignments: list[AssignmentRow] = field(default_factory=list)
    rules: list[RuleRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    plan: dict[str, int] = field(
        default_factory=dict
    )  # what apply() would do, counted by validate()

    def add(self, sheet: str, row: int | None, field_name: str, message: str) -> None:
        self.problems.append(Problem(sheet, row, field_name, message))

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        counts = (
            f"{len(self.organisations)} organisations, {len(self.people)} people, "
            f"{len(self.assignments)} assignments, {len(self.rules)} dispatch rules"
        )
        lines.append(
            f"{self.file}: sheets {', '.join(self.sheets) or '(none)'}; {counts}; "
            f"{len(self.problems)} errors."
        )
        if self.plan:
            lines.append("Plan: " + ", ".join(f"{k} {v}" for k, v in self.plan.items()))
        return "\n".join(lines)


class DirectoryFileError(Exception):
    """The file cannot be read as a workbook at all."""


# --- reading -----------------------------------------------------------------------------------


def read_workbook(source: str | Path | IO[bytes], *, name: str | None = None) -> DirectoryReport:
    """Read the workbook's known sheets into rows, recording cell problems (missing or bad values)
    by sheet, row and field. Reads only; DirectoryFileError when it is not a workbook."""
    from openpyxl import load_workbook

    label = name or (Path(source).name if isinstance(source, (str, Path)) else "workbook")
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception as error:  # zipfile.BadZipFile, KeyError, InvalidFileException, OSError…
        raise DirectoryFileError(
            f"{label} is not an .xlsx workbook ({type(error).__name__}: {error})."
        ) from None
    report = DirectoryReport(file=label)
    try:
        for sheet in SHEETS:
            if sheet not in book.sheetnames:
                continue
            report.sheets.append(sheet)
            rows = book[sheet].iter_rows(values_only=True)
            columns = _columns(report, sheet, next(rows, ()))
            if columns is None:
                continue
            for number, values in enumerate(rows, start=2):
                cells = {f: values[i] if i < len(values) else None for f, i in columns.items()}
                if all(_text(v) == "" for v in cells.values()):
                    continue  # blank line
                READERS[sheet](report, number, cells)
    finally:
        book.close()
    if not report.sheets:
        report.add("workbook", None, "", f"no sheet named {', '.join(SHEETS)}: nothing to import")
    return report


def _columns(report: DirectoryReport, sheet: str, header: tuple) -> dict[str, int] | None:
    names = {_text(v).lower(): i for i, v in enumerate(header) if _text(v)}
    columns = {}
    for field_name, aliases in COLUMNS[sheet].items():
        found = next((names[a.lower()] for a in aliases if a.lower() in names), None)
        if found is not None:
            columns[field_name] = found
    missing = [COLUMNS[sheet][f][0] for f in REQUIRED[sheet] if f not in columns]
    if missing:
        report.add(
            sheet,
            1,
            ", ".join(missing),
            f"missing column(s); the header row needs "
            f"{', '.join(a[0] for a in COLUMNS[sheet].values())}",
        )
        return None
    return columns


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number
    return str(value).strip()


def _date(
    report: DirectoryReport, sheet: str, row: int, field_name: str, value: Any
) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    report.add(sheet, row, field_name, f"{text!r} is not a date (write 2026-01-05)")
    return None


def _read_organisation(report: DirectoryReport, row: int, cells: dict) -> None:
    code, name, kind_text = (
        _text(cells.get("code")),
        _text(cells.get("name")),
        _text(cells.get("kind")),
    )
    kind = KIND_NAMES.get(kind_text) or KIND_NAMES.get(kind_text.lower())
    if not code:
        report.add(ORGANISATIONS, row, "编码", "a code is required")
    elif len(code) > 32:
        report.add(ORGANISATIONS, row, "编码", f"{code!r} is longer than 32 characters")
    elif code in RESERVED_CODES:
        report.add(ORGANISATIONS, row, "编码", f"{code!r} is reserved for the system")
    if not name:
        report.add(ORGANISATIONS, row, "名称", "a name is required")
    elif len(name) > 100:
        report.add(ORGANISATIONS, row, "名称", "longer than 100 characters")
    if kind is None:
        report.add(
            ORGANISATIONS,
            row,
            "类型",
            f"{kind_text!r} is not a kind (use {', '.join(KIND_LABEL.values())})",
        )
    phone = _text(cells.get("phone"))
    if len(phone) > 40:
        report.add(ORGANISATIONS, row, "电话", "longer than 40 characters")
    report.organisations.append(
        OrgRow(row, code, name, kind or "", _text(cells.get("area")), phone)
    )


def _read_person(report: DirectoryReport, row: int, cells: dict) -> None:
    username, name, role_text = (
        _text(cells.get("username")),
        _text(cells.get("name")),
        _text(cells.get("role")),
    )
    if not USERNAME.match(username):
        report.add(
            PEOPLE,
            row,
            "用户名",
            f"{username!r} is not a user name (letters, digits and @.+-_, at most 150)"
            if username
            else "a user name is required",
        )
    elif username in RESERVED_USERNAMES:
        report.add(PEOPLE, row, "用户名", f"{username!r} is reserved for the system")
    if len(name) > 150:
        report.add(PEOPLE, row, "姓名", "longer than 150 characters")
    role = ROLE_NAMES.get(role_text) or ROLE_NAMES.get(role_text.lower())
    if role is None:
        report.add(
            PEOPLE,
            row,
            "角色",
            f"{role_text!r} is not a role (use {', '.join(ROLE_LABEL.values())})",
        )
    phone = _text(cells.get("phone"))
    if len(phone) > 40:
        report.add(PEOPLE, row, "电话", "longer than 40 characters")
    active_text = _text(cells.get("active")).lower()
    if active_text and active_text not in TRUE | FALSE:
        report.add(PEOPLE, row, "启用", f"{active_text!r}: write 是 or 否")
    report.people.append(
        PersonRow(
            row,
            username,
            name,
            phone,
            _text(cells.get("organisation")),
            role or "",
            active_text not in FALSE or active_text == "",
        )
    )


def _read_assignment(report: DirectoryReport, row: int, cells: dict) -> None:
    grid, officer = _text(cells.get("grid")), _text(cells.get("officer"))
    if not grid:
        report.add(ASSIGNMENTS, row, "网格编码", "a grid code is required")
    if not officer:
        report.add(ASSIGNMENTS, row, "监督员", "an officer's user name is required")
    start = _date(report, ASSIGNMENTS, row, "开始日期", cells.get("start"))
    end = _date(report, ASSIGNMENTS, row, "结束日期", cells.get("end"))
    if start is None and _text(cells.get("start")) == "":
        report.add(ASSIGNMENTS, row, "开始日期", "a start date is required")
    if start and end and end <= start:
        report.add(
            ASSIGNMENTS,
            row,
            "结束日期",
            f"{end} is not after the start {start} (the end is the first day no longer in force)",
        )
    report.assignments.append(AssignmentRow(row, grid, officer, start or dt.date.min, end))


def _read_rule(report: DirectoryReport, row: int, cells: dict) -> None:
    kind_text, code = _text(cells.get("kind")), _text(cells.get("class"))
    kind = (
        (CLASS_KINDS.get(kind_text) or CLASS_KINDS.get(kind_text.lower(), "")) if kind_text else ""
    )
    if kind_text and not kind:
        report.add(RULES, row, "类型", f"{kind_text!r}: write 部件 or 事件")
    if not code:
        report.add(RULES, row, "类别编码", "a small or big class code is required")
    prefix = _text(cells.get("prefix"))
    if prefix and (not prefix.isdigit() or len(prefix) > 15):
        report.add(
            RULES,
            row,
            "区域编码前缀",
            f"{prefix!r} is not an area code prefix (digits, at most 15)",
        )
    unit = _text(cells.get("unit"))
    if not unit:
        report.add(RULES, row, "处置单位", "a handling unit's code is required")
    priority_text = _text(cells.get("priority")) or "1"
    if not priority_text.isdigit() or int(priority_text) < 1:
        report.add(RULES, row, "优先级", f"{priority_text!r} is not a whole number ≥ 1")
    priority = int(priority_text) if priority_text.isdigit() else 1
    report.rules.append(RuleRow(row, kind, code, prefix, unit, priority))


READERS = {
    ORGANISATIONS: _read_organisation,
    PEOPLE: _read_person,
    ASSIGNMENTS: _read_assignment,
    RULES: _read_rule,
}


# --- validating against the database -----------------------------------------------------------


def validate(report: DirectoryReport, *, today: dt.date | None = None) -> DirectoryReport:
    """Check every reference (areas, organisations, people, grids, classes, units) and the rows
    against each other (duplicates, overlapping assignments, rules of equal priority); count what
    apply() would do in `report.plan`. Reads only."""
    today = today or timezone.localdate()
    orgs = _validate_organisations(report)
    officers = _validate_people(report, orgs)
    _validate_assignments(report, officers, today)
    _validate_rules(report, orgs)
    if report.ok:
        _plan(report, today)
    return report


def _duplicates(
    report: DirectoryReport, sheet: str, field_name: str, keyed: list[tuple[Any, int]]
) -> None:
    first: dict[Any, int] = {}
    for key, row in keyed:
        if key in first:
            report.add(sheet, row, field_name, f"{key!r} is already on row {first[key]}")
        else:
            first[key] = row


def _validate_organisations(report: DirectoryReport) -> dict[str, str]:
    """Organisation code → kind, as they will be after the import (active ones only)."""
    if ORGANISATIONS not in report.sheets:
        return dict(Organisation.objects.filter(active=True).values_list("code", "kind"))
    _duplicates(
        report, ORGANISATIONS, "编码", [(o.code, o.row) for o in report.organisations if o.code]
    )
    areas = set(Area.objects.current().values_list("code", flat=True))
    for org in report.organisations:
        if org.area and org.area not in areas:
            report.add(
                ORGANISATIONS,
                org.row,
                "所属区域",
                f"no area with code {org.area!r} (import the grids first)",
            )
    return {o.code: o.kind for o in report.organisations if o.code}


def _validate_people(report: DirectoryReport, orgs: dict[str, str]) -> dict[str, bool]:
    """Officer user name → active, as they will be after the import."""
    if PEOPLE not in report.sheets:
        return {
            u: True
            for u in User.objects.filter(role=Role.OFFICER, is_active=True).values_list(
                "username", flat=True
            )
        }
    _duplicates(
        report, PEOPLE, "用户名", [(p.username, p.row) for p in report.people if p.username]
    )
    for person in report.people:
        kind = orgs.get(person.organisation)
        if not person.organisation:
            report.add(PEOPLE, person.row, "组织", "an organisation code is required")
        elif kind is None:
            where = (
                "in sheet 组织"
                if ORGANISATIONS in report.sheets
                else "among the active organisations"
            )
            report.add(
                PEOPLE, person.row, "组织", f"no organisation {person.organisation!r} {where}"
            )
        elif not person.role:
            continue  # the role itself is wrong: said once, by the reader
        elif person.role == Role.UNIT_MEMBER and kind != Organisation.Kind.HANDLING_UNIT:
            report.add(
                PEOPLE,
                person.row,
                "角色",
                f"a handling unit member belongs to a handling unit; "
                f"{person.organisation!r} is not one",
            )
        elif person.role != Role.UNIT_MEMBER and kind == Organisation.Kind.HANDLING_UNIT:
            report.add(
                PEOPLE,
                person.row,
                "角色",
                f"{person.organisation!r} is a handling unit: its people are 处置单位人员",
            )
    return {p.username: p.active for p in report.people if p.role == Role.OFFICER}


def _validate_assignments(
    report: DirectoryReport, officers: dict[str, bool], today: dt.date
) -> None:
    if ASSIGNMENTS not in report.sheets:
        return
    grids = set(Grid.objects.current().values_list("code", flat=True))
    by_pair: dict[tuple[str, str], list[AssignmentRow]] = defaultdict(list)
    for a in report.assignments:
        if a.grid and a.grid not in grids:
            report.add(
                ASSIGNMENTS,
                a.row,
                "网格编码",
                f"no grid {a.grid!r} in force (import the grids first)",
            )
        if a.officer and a.officer not in officers:
            report.add(
                ASSIGNMENTS,
                a.row,
                "监督员",
                f"{a.officer!r} is not a patrol officer (role 监督员) "
                + ("in sheet 人员" if PEOPLE in report.sheets else "here"),
            )
        elif a.officer and not officers[a.officer] and (a.end is None or a.end > today):
            report.add(
                ASSIGNMENTS,
                a.row,
                "监督员",
                f"{a.officer!r} is not active: close the assignment (结束日期)",
            )
        by_pair[a.grid, a.officer].append(a)
    for rows in by_pair.values():
        rows.sort(key=lambda a: (a.start, a.row))
        for before, after in itertools.pairwise(rows):
            if before.end is None or after.start < before.end:
                report.add(
                    ASSIGNMENTS,
                    after.row,
                    "开始日期",
                    f"overlaps row {before.row}: {after.officer} on grid "
                    f"{after.grid} from {before.start} to {before.end or 'open'}",
                )


def _validate_rules(report: DirectoryReport, orgs: dict[str, str]) -> None:
    if RULES not in report.sheets:
        return
    in_use = SmallClass.objects.available()
    smalls: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for pk, code, kind in in_use.values_list("pk", "code", "big_class__kind"):
        smalls[code].append((kind, pk))
    bigs: dict[str, list[tuple[str, int]]] = defaultdict(list)
    standards = BigClass.objects.filter(standard__active=True) | BigClass.objects.filter(
        standard__code=LOCAL_STANDARD
    )
    for pk, code, kind in standards.values_list("pk", "code", "kind"):
        bigs[code].append((kind, pk))
    for rule in report.rules:
        if rule.code:
            _resolve_class(report, rule, smalls, bigs)
        kind = orgs.get(rule.unit)
        if rule.unit and kind is None:
            report.add(RULES, rule.row, "处置单位", f"no active organisation {rule.unit!r}")
        elif rule.unit and kind != Organisation.Kind.HANDLING_UNIT:
            report.add(RULES, rule.row, "处置单位", f"{rule.unit!r} is not a handling unit")
    first: dict[tuple, RuleRow] = {}
    for rule in report.rules:
        if not (rule.small_class_id or rule.big_class_id):
            continue
        key = (rule.small_class_id, rule.big_class_id, rule.prefix, rule.priority)
        if key in first:
            report.add(
                RULES,
                rule.row,
                "优先级",
                f"row {first[key].row} has the same class {rule.code}, area "
                f"{rule.prefix or '(the city)'} and priority {rule.priority}: give one another priority",
            )
        else:
            first[key] = rule


def _resolve_class(report: DirectoryReport, rule: RuleRow, smalls: dict, bigs: dict) -> None:
    for table, attr in ((smalls, "small_class_id"), (bigs, "big_class_id")):
        found = [
            (kind, pk)
            for kind, pk in table.get(rule.code, ())
            if not rule.kind or kind == rule.kind
        ]
        if len(found) == 1:
            rule.kind = found[0][0]
            setattr(rule, attr, found[0][1])
            return
        if len(found) > 1:
            report.add(
                RULES,
                rule.row,
                "类型",
                f"{rule.code!r} is both a component and an event class: write 部件 or 事件",
            )
            return
    report.add(
        RULES,
        rule.row,
        "类别编码",
        f"no small or big class {rule.code!r} in use (the active standard or the local classes)",
    )


def _plan(report: DirectoryReport, today: dt.date) -> None:
    plan: dict[str, int] = {}
    if ORGANISATIONS in report.sheets:
        existing = set(Organisation.objects.values_list("code", flat=True))
        codes = {o.code for o in report.organisations}
        plan["organisations new"] = len(codes - existing)
        plan["organisations updated"] = len(codes & existing)
        plan["organisations closed"] = _closing_organisations().exclude(code__in=codes).count()
    if PEOPLE in report.sheets:
        existing = set(User.objects.values_list("username", flat=True))
        names = {p.username for p in report.people}
        plan["people new"] = len(names - existing)
        plan["people updated"] = len(names & existing)
        plan["people deactivated"] = sum(
            1 for u in _closing_people().values_list("username", flat=True) if u not in names
        )
    if ASSIGNMENTS in report.sheets:
        plan["assignments"] = len(report.assignments)
    if RULES in report.sheets:
        plan["dispatch rules"] = len(report.rules)
    report.plan = plan


def _closing_organisations():
    """Organisations an import closes when the file no longer has them (not the system's own, not
    the public's)."""
    return (
        Organisation.objects.filter(active=True)
        .exclude(code=SYSTEM_ORGANISATION)
        .exclude(kind=Organisation.Kind.PUBLIC)
    )


def _closing_people():
    """People an import deactivates when the file no longer has them: active staff, never a
    superuser or the system account."""
    return User.objects.filter(is_active=True, role__in=STAFF_ROLES, is_superuser=False).exclude(
        username=SYSTEM_USERNAME
    )


# --- writing -----------------------------------------------------------------------------------


@dataclass
class SignInLink:
    username: str
    name: str
    url: str


@dataclass
class Applied:
    counts: dict[str, int]
    links: list[SignInLink]

    def summary(self) -> str:
        return "Imported: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()) + "."


def apply(report: DirectoryReport, *, base_url: str = "", today: dt.date | None = None) -> Applied:
    """Write a validated report in one transaction (refused when it holds a problem). Returns the
    counts and a one-time sign-in link for every new person (`base_url` + the path)."""
    if not report.ok:
        raise ValueError("the report holds errors: nothing may be written")
    today = today or timezone.localdate()
    counts: dict[str, int] = {}
    with transaction.atomic():
        if ORGANISATIONS in report.sheets:
            counts.update(_write_organisations(report.organisations))
        new_people: list[str] = []
        if PEOPLE in report.sheets:
            written, new_people = _write_people(report.people)
            counts.update(written)
        if ASSIGNMENTS in report.sheets:
            officers = dict(User.objects.filter(role=Role.OFFICER).values_list("username", "pk"))
            grids = dict(Grid.objects.current().values_list("code", "pk"))
            counts.update(
                save_assignments(
                    [
                        Assignment(
                            grid_id=grids[a.grid],
                            officer_id=officers[a.officer],
                            start=a.start,
                            end=a.end,
                        )
                        for a in report.assignments
                    ],
                    today=today,
                )
            )
        if RULES in report.sheets:
            counts.update(_write_rules(report.rules))
    links = sign_in_links(
        User.objects.filter(username__in=new_people, is_active=True).order_by("username"),
        base_url=base_url,
    )
    return Applied(counts, links)


def _write_organisations(rows: list[OrgRow]) -> dict[str, int]:
    areas = dict(Area.objects.current().values_list("code", "pk"))
    existing = {o.code: o for o in Organisation.objects.all()}
    new, changed = [], []
    for row in rows:
        values = {
            "name": row.name,
            "kind": row.kind,
            "area_id": areas.get(row.area) if row.area else None,
            "phone": row.phone,
            "active": True,
        }
        org = existing.get(row.code)
        if org is None:
            new.append(Organisation(code=row.code, **values))
        elif any(getattr(org, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(org, k, v)
            changed.append(org)
    Organisation.objects.bulk_create(new)
    Organisation.objects.bulk_update(changed, ["name", "kind", "area_id", "phone", "active"])
    closed = _closing_organisations().exclude(code__in=[r.code for r in rows]).update(active=False)
    return {
        "organisations new": len(new),
        "organisations updated": len(changed),
        "organisations closed": closed,
    }


def _write_people(rows: list[PersonRow]) -> tuple[dict[str, int], list[str]]:
    orgs = dict(Organisation.objects.values_list("code", "pk"))
    existing = {u.username: u for u in User.objects.filter(username__in=[r.username for r in rows])}
    new, changed = [], []
    for row in rows:
        values = {
            "first_name": row.name,
            "phone": row.phone,
            "organisation_id": orgs[row.organisation],
            "role": row.role,
            "is_active": row.active,
        }
        user = existing.get(row.username)
        if user is None:
            user = User(username=row.username, is_staff=row.role == Role.ADMIN, **values)
            user.set_unusable_password()  # no password ever travels in the workbook
            new.append(user)
        elif any(getattr(user, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(user, k, v)
            changed.append(user)
    User.objects.bulk_create(new, batch_size=500)
    User.objects.bulk_update(
        changed, ["first_name", "phone", "organisation_id", "role", "is_active"], batch_size=500
    )
    listed = {r.username for r in rows}
    gone = [
        pk
        for pk, username in _closing_people().values_list("pk", "username")
        if username not in listed
    ]
    for start in range(0, len(gone), 500):
        User.objects.filter(pk__in=gone[start : start + 500]).update(is_active=False)
    return (
        {"people new": len(new), "people updated": len(changed), "people deactivated": len(gone)},
        [u.username for u in new],
    )


def _write_rules(rows: list[RuleRow]) -> dict[str, int]:
    """The sheet is the whole responsibility list: the rules are replaced."""
    units = dict(Organisation.objects.values_list("code", "pk"))
    removed, _by_model = DispatchRule.objects.all().delete()
    DispatchRule.objects.bulk_create(
        [
            DispatchRule(
                small_class_id=r.small_class_id,
                big_class_id=r.big_class_id,
                area_prefix=r.prefix,
                unit_id=units[r.unit],
                priority=r.priority,
            )
            for r in rows
        ]
    )
    return {"dispatch rules": len(rows), "dispatch rules replaced": removed}


# --- grid assignments: the one place the directory writes them -----------------------------------


@dataclass(frozen=True)
class Assignment:
    """An officer on a grid from `start` to the day before `end` (None: open)."""

    grid_id: int
    officer_id: int
    start: dt.date
    end: dt.date | None

    def in_force_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def _has_history() -> bool:
    return any(f.name == "until" for f in GridAssignment._meta.get_fields())


def save_assignments(rows: list[Assignment], *, today: dt.date) -> dict[str, int]:
    """Make the grid assignments what `rows` say (the whole list: what it lacks is closed).

    With assignment history (GridAssignment.since/until, the patrol branch): every row is kept as
    a period, matched by (grid, officer, since); periods in the database but not in `rows` that are
    still open or end after `today` are closed at `today` (never deleted). Without it (one row per
    grid and officer, `since` only): the rows in force `today` are the assignments, the others are
    removed. Returns counts. Call inside a transaction.
    """
    if _has_history():
        return _save_assignment_history(rows, today=today)
    current = {(r.grid_id, r.officer_id): r for r in rows if r.in_force_on(today)}
    existing = {(a.grid_id, a.officer_id): a for a in GridAssignment.objects.all()}
    new = [
        GridAssignment(grid_id=g, officer_id=o, since=r.start)
        for (g, o), r in current.items()
        if (g, o) not in existing
    ]
    moved = []
    for key, row in current.items():
        if key in existing and existing[key].since != row.start:
            existing[key].since = row.start
            moved.append(existing[key])
    gone = [a.pk for key, a in existing.items() if key not in current]
    GridAssignment.objects.bulk_create(new, batch_size=500)
    GridAssignment.objects.bulk_update(moved, ["since"], batch_size=500)
    for start in range(0, len(gone), 500):
        GridAssignment.objects.filter(pk__in=gone[start : start + 500]).delete()
    return {
        "assignments new": len(new),
        "assignments updated": len(moved),
        "assignments closed": len(gone),
        "assignments not in force today (kept only with assignment history)": len(rows)
        - len(current),
    }


def _save_assignment_history(rows: list[Assignment], *, today: dt.date) -> dict[str, int]:
    existing = {(a.grid_id, a.officer_id, a.since): a for a in GridAssignment.objects.all()}
    wanted = {(r.grid_id, r.officer_id, r.start): r for r in rows}
    starts: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    for r in rows:
        starts[r.grid_id, r.officer_id].append(r.start)
    closed = []
    for key, a in existing.items():
        if key not in wanted and (a.until is None or a.until > today):
            # Closed today, or where the file's next period of the same officer on the grid begins.
            following = [start for start in starts.get(key[:2], ()) if start > a.since]
            a.until = min([today, *following]) if a.since < today else a.since
            closed.append(a)
    GridAssignment.objects.bulk_update(
        closed, ["until"], batch_size=500
    )  # first: one open row per pair
    new, changed = [], []
    for key, row in wanted.items():
        a = existing.get(key)
        if a is None:
            new.append(
                GridAssignment(
                    grid_id=row.grid_id, officer_id=row.officer_id, since=row.start, until=row.end
                )
            )
        elif a.until != row.end:
            a.until = row.end
            changed.append(a)
    GridAssignment.objects.bulk_update(changed, ["until"], batch_size=500)
    GridAssignment.objects.bulk_create(new, batch_size=500)
    return {
        "assignments new": len(new),
        "assignments updated": len(changed),
        "assignments closed": len(closed),
    }


# --- sign-in links and the template ------------------------------------------------------------


def sign_in_links(users, *, base_url: str = "") -> list[SignInLink]:
    """A one-time link per user to choose a password (Django's password-reset confirmation: it
    stops working once the password is set, or after PASSWORD_RESET_TIMEOUT)."""
    links = []
    for user in users:
        path = reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        links.append(SignInLink(user.username, user.first_name, base_url.rstrip("/") + path))
    return links


def link_hours() -> float:
    return settings.PASSWORD_RESET_TIMEOUT / 3600


def write_template(target: str | Path | IO[bytes], *, today: dt.date | None = None) -> None:
    """Write the workbook with the current data (what a city edits and imports again)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    today = today or timezone.localdate()
    book = Workbook(write_only=False)
    book.remove(book.active)
    header_font = Font(bold=True)

    def sheet(name: str, rows) -> None:
        ws = book.create_sheet(name)
        ws.append([aliases[0] for aliases in COLUMNS[name].values()])
        for cell in ws[1]:
            cell.font = header_font
        for row in rows:
            ws.append(row)
        for column, aliases in zip(ws.columns, COLUMNS[name].values(), strict=False):
            ws.column_dimensions[column[0].column_letter].width = max(12, len(aliases[0]) * 3)

    orgs = _closing_organisations().select_related("area").order_by("kind", "code")
    sheet(
        ORGANISATIONS,
        (
            [o.code, o.name, KIND_LABEL[o.kind], o.area.code if o.area_id else "", o.phone]
            for o in orgs
        ),
    )
    people = (
        _closing_people().select_related("organisation").order_by("organisation__code", "username")
    )
    sheet(
        PEOPLE,
        (
            [
                u.username,
                u.first_name or u.get_full_name(),
                u.phone,
                u.organisation.code if u.organisation_id else "",
                ROLE_LABEL.get(u.role, u.role),
                "是",
            ]
            for u in people
        ),
    )
    # Only on grids in force: a grid the last grid import closed takes its assignments with it.
    assignments = (
        GridAssignment.objects.filter(grid__in=Grid.objects.current(), officer__in=people)
        .select_related("grid", "officer")
        .order_by("grid__code", "officer__username")
    )
    if _has_history():
        assignments = assignments.filter(until__isnull=True) | assignments.filter(until__gt=today)
    sheet(
        ASSIGNMENTS,
        (
            [a.grid.code, a.officer.username, a.since, getattr(a, "until", None)]
            for a in assignments
        ),
    )
    rules = DispatchRule.objects.select_related(
        "small_class__big_class", "big_class", "unit"
    ).order_by("small_class__code", "big_class__code", "area_prefix", "priority")
    sheet(
        RULES,
        (
            [
                "部件"
                if (r.small_class.big_class.kind if r.small_class_id else r.big_class.kind)
                == "component"
                else "事件",
                r.small_class.code if r.small_class_id else r.big_class.code,
                r.area_prefix,
                r.unit.code,
                r.priority,
            ]
            for r in rules
        ),
    )
    notes = book.create_sheet("说明")
    for line in NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    book.save(target)


NOTES = [  # the workbook's instructions sheet, one line a row
    "城市名录工作簿：组织、人员、网格分配、派遣规则。python manage.py import_directory 本文件.xlsx --dry-run 先检查，再去掉 --dry-run 导入。",  # noqa: E501
    "任何一行有错误时什么都不写入；错误信息写明工作表、行号和列名。",  # noqa: E501
    "组织：编码唯一；类型为 监督中心、处置单位、街道办事处 或 公众；所属区域填区域编码（区 6 位、街道 9 位、社区 12 位），空为全市。",  # noqa: E501
    "人员：用户名唯一；角色为 监督员、受理员、值班长、派遣员、处置单位人员、领导 或 管理员；启用填 是/否。工作簿中从不填写密码：新人员导入后得到一次性登录链接。",  # noqa: E501
    "网格分配：开始日期起生效；结束日期为不再负责的第一天，空表示至今。同一监督员在同一网格的时段不得重叠。",  # noqa: E501
    "派遣规则：类型 部件/事件，类别编码为小类或大类编码；区域编码前缀越长越优先，其次小类优先于大类，再次优先级数字小者优先；空前缀为全市。",  # noqa: E501
    "工作表中没有的组织停用、人员停用（从不删除）、网格分配结束，派遣规则以本表为准。缺少的工作表不做改动。",  # noqa: E501
]
