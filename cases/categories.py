"""Seed the classification dictionary (docs/domain.md §2) from the code tables in fixtures/codes/.

`seed_categories()` is idempotent. It creates or updates standards, big classes and small classes
by standard + kind + code (GB/T 47678.5-2026 uses each 5-digit code once as a component and once as
a matter, so the code alone is not unique), never deletes anything, and only *creates* missing case
standards: an administrator's edits of a case standard, a class's keywords or its active flag are
never overwritten. GB/T 47678.5-2026 becomes the active standard only when no other one is active.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from cases.models import (
    LOCAL_STANDARD,
    BigClass,
    CaseStandard,
    ClassificationStandard,
    Kind,
    LimitUnit,
    SmallClass,
)

CODES_DIR = settings.BASE_DIR / "fixtures" / "codes"
GBT = "GB/T 47678.5-2026"
CJT = "CJ/T 214-2007"
TABLES = {GBT: "gbt47678.5-2026_parts_and_matters.csv", CJT: "cjt214-2007_events.csv"}
STANDARD_NAMES = {
    GBT: "城市运行管理服务平台 第5部分：管理部件和事项",
    CJT: "城市市政综合监管信息系统 管理部件和事件分类、编码及数据要求",
    LOCAL_STANDARD: "本地扩展分类",
}
# GB/T 47678.5-2026 calls events 管理事项 (matters); they are this product's events.
KINDS = {
    "管理部件": Kind.COMPONENT,
    "部件": Kind.COMPONENT,
    "管理事项": Kind.EVENT,
    "事件": Kind.EVENT,
}

# docs/domain.md §2 default: 1 working day unless the data says otherwise (neither table gives limits).
DEFAULT_LIMIT = (1, LimitUnit.WORK_DAYS)

CONSTRUCTION_SCHEMA = {
    "type": "object",
    "properties": {
        "area_m2": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 100000,
            "title": "面积（m²）",
        },
        "permanence": {"type": "string", "enum": ["permanent", "temporary"], "title": "永久/临时"},
        # The 违建台账's fields (docs/domain.md §12, campaigns/setup.py adds them to older seeds).
        "structure": {"type": "string", "enum": ["steel_shed", "brick", "other"], "title": "结构"},
        "use": {"type": "string", "maxLength": 100, "title": "用途"},
        "ledger_number": {
            "type": "string",
            "maxLength": 40,
            "title": "存量台账编号（处置存量违建时填写）",
        },
    },
    "required": ["area_m2"],
    "additionalProperties": False,
}
DUMPING_SCHEMA = {
    "type": "object",
    "properties": {"volume_m3": {"type": "number", "exclusiveMinimum": 0, "title": "体积（m³）"}},
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ViolationType:
    """A violation type docs/domain.md §2 names, the small classes it maps to (standard, code, name as in
    the table) and the attribute schema their case standards get."""

    keywords: str
    classes: tuple[tuple[str, str, str], ...]
    schema: dict | None = None


VIOLATION_TYPES = (
    ViolationType(
        "违法建设 illegal construction",
        (
            (CJT, "0101", "私搭乱建"),
            (GBT, "06001", "私搭乱建"),
            (GBT, "08016", "无证建设"),
        ),
        CONSTRUCTION_SCHEMA,
    ),
    ViolationType(
        "违法倾倒 illegal dumping",
        (
            (CJT, "0103", "积存垃圾渣土"),
            (CJT, "0112", "道路遗撒"),
            (GBT, "06011", "积存垃圾渣土"),
            (GBT, "06014", "道路遗撒（洒）"),
            (GBT, "08005", "施工废弃料"),
            (GBT, "06032", "非正规垃圾填埋场"),
        ),
        DUMPING_SCHEMA,
    ),
    ViolationType(
        "unlicensed signage",
        (
            (CJT, "0202", "违章张贴悬挂广告牌匾"),
            (CJT, "0203", "占道广告牌"),
            (GBT, "07003", "违规户外广告"),
            (GBT, "07006", "违规牌匾标识"),
        ),
    ),
    ViolationType(
        "street occupation",
        (
            (CJT, "0501", "无照经营游商"),
            (CJT, "0504", "店外经营"),
            (GBT, "09001", "无照经营游商"),
            (GBT, "09005", "店外经营"),
            (GBT, "09006", "占道经营"),
        ),
    ),
    ViolationType("posters", ((CJT, "0201", "非法小广告"), (GBT, "07001", "非法小广告"))),
)
# The words people use for common violations (issue 22: "乱倒垃圾", "违规广告" found nothing), per
# small class: seeded into `SmallClass.keywords` with the class, and added to existing classes by
# migration cases 0008. Administrators edit them afterwards (admin → small classes).
EVERYDAY_WORDS = {
    **{
        (std, code): "违建 违章建筑 违法建设 私搭乱建 乱搭乱建 搭建 加盖"
        for std, code in ((CJT, "0101"), (GBT, "06001"), (GBT, "08016"))
    },
    **{
        (std, code): "乱倒垃圾 乱扔垃圾 垃圾 渣土 倾倒 偷倒"
        for std, code in ((CJT, "0102"), (CJT, "0103"), (GBT, "06010"), (GBT, "06011"))
    },
    **{
        (std, code): "渣土 遗撒 撒漏 乱倒 渣土车"
        for std, code in ((CJT, "0112"), (GBT, "06014"), (GBT, "08005"))
    },
    **{
        (std, code): "违规广告 乱贴 乱贴广告 乱挂 广告牌 招牌 横幅"
        for std, code in (
            (CJT, "0202"),
            (CJT, "0203"),
            (GBT, "07003"),
            (GBT, "07006"),
            (GBT, "07007"),
        )
    },
    **{
        (std, code): "乱贴 乱贴小广告 小广告 牛皮癣 乱涂乱画 违规广告"
        for std, code in ((CJT, "0201"), (GBT, "07001"))
    },
    **{
        (std, code): "占道经营 摆摊 流动摊贩 游商 乱摆摊 出店经营"
        for std, code in (
            (CJT, "0501"),
            (CJT, "0504"),
            (GBT, "09001"),
            (GBT, "09005"),
            (GBT, "09006"),
        )
    },
}


def seeded_keywords(standard: str, code: str, *, named: str = "") -> str:
    """The keywords a new small class gets: its violation type's and the everyday words."""
    return " ".join(w for w in (named, EVERYDAY_WORDS.get((standard, code), "")) if w)


# (standard, code) → (name, violation type); all named classes are events.
NAMED_CLASSES = {
    (std, code): (name, vt) for vt in VIOLATION_TYPES for std, code, name in vt.classes
}


@dataclass(frozen=True)
class ClassRow:
    kind: str
    big_code: str
    big_name: str
    code: str
    name: str


@dataclass
class SeedReport:
    """What a seeding run did: per subject, how many rows were created, updated or unchanged."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    schemas_attached: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, subject: str, outcome: str) -> None:
        self.counts[subject][outcome] += 1

    def total(self, outcome: str) -> int:
        return sum(counter[outcome] for counter in self.counts.values())

    def lines(self) -> list[str]:
        lines = [
            f"{subject}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for subject, c in self.counts.items()
        ]
        if self.schemas_attached:
            lines.append(
                "attribute schemas attached to new case standards: "
                + ", ".join(self.schemas_attached)
            )
        return lines + [f"warning: {warning}" for warning in self.warnings]


def read_classes(path: Path) -> list[ClassRow]:
    """The rows of a code table. Lines starting with '#' are comments; both tables' column names
    are understood (standard_code/code, matter_kind/kind, standard_name/name). Reads only."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = []
    for r in csv.DictReader(lines):
        kind = KINDS[(r.get("matter_kind") or r["kind"]).strip()]
        rows.append(
            ClassRow(
                kind=kind,
                big_code=r["major_code"].strip(),
                big_name=r["major_category"].strip(),
                code=(r.get("standard_code") or r["code"]).strip(),
                name=(r.get("standard_name") or r["name"]).strip(),
            )
        )
    return rows


@transaction.atomic
def seed_categories(*, codes_dir: Path = CODES_DIR) -> SeedReport:
    """Create or update the CJ/T 214-2007, GB/T 47678.5-2026 and local standards and their classes,
    then create the missing case standards (1 工作日; attribute schemas for the named violation
    types). Rules and side effects: see the module docstring. Returns what it did."""
    report = SeedReport()
    _seed_standard(LOCAL_STANDARD, report=report)
    seeded = []
    for code in (CJT, GBT):  # GB/T last: it becomes active only if nothing else is
        standard = _seed_standard(code, report=report)
        _seed_classes(standard, read_classes(codes_dir / TABLES[code]), report=report)
        seeded.append(standard)
    _seed_case_standards(seeded, report=report)
    _check_named_classes(report=report)
    from campaigns.setup import seed_campaign_classes

    seed_campaign_classes()  # docs/domain.md §12: campaign classes; dumping limits count calendar time
    return report


def _seed_standard(code: str, *, report: SeedReport) -> ClassificationStandard:
    """The standard with `code`; a new GB/T standard is made active if no other standard is."""
    standard = ClassificationStandard.objects.filter(code=code).first()
    if standard is None:
        active = code == GBT and not ClassificationStandard.objects.active().exists()
        standard = ClassificationStandard.objects.create(
            code=code, name=STANDARD_NAMES[code], active=active
        )
        report.count("standards", "created")
    else:
        report.count("standards", _sync(standard, name=STANDARD_NAMES[code]))
    return standard


def _seed_classes(
    standard: ClassificationStandard, rows: list[ClassRow], *, report: SeedReport
) -> None:
    """Upsert the big and small classes of `rows` by (kind, code) within `standard`."""
    bigs = {(b.kind, b.code): b for b in standard.big_classes.all()}
    smalls = {
        (s.big_class.kind, s.code): s
        for s in SmallClass.objects.filter(big_class__standard=standard).select_related("big_class")
    }
    seen_big = set()
    for row in rows:
        big = bigs.get((row.kind, row.big_code))
        if big is None:
            big = bigs[row.kind, row.big_code] = BigClass.objects.create(
                standard=standard, kind=row.kind, code=row.big_code, name=row.big_name
            )
            report.count(f"{standard.code} big classes", "created")
        elif (row.kind, row.big_code) not in seen_big:
            report.count(f"{standard.code} big classes", _sync(big, name=row.big_name))
        seen_big.add((row.kind, row.big_code))
        _seed_small_class(big, row, existing=smalls.get((row.kind, row.code)), report=report)


def _seed_small_class(
    big: BigClass, row: ClassRow, *, existing: SmallClass | None, report: SeedReport
) -> None:
    """Create the small class, or bring its name and big class in step with the table. Keywords and
    the active flag are set on creation only: they belong to the administrator afterwards."""
    subject = f"{big.standard.code} small classes"
    if existing is not None:
        report.count(subject, _sync(existing, name=row.name, big_class=big))
        return
    named = NAMED_CLASSES.get((big.standard.code, row.code))
    keywords = (
        seeded_keywords(
            big.standard.code,
            row.code,
            named=(
                named[1].keywords
                if named and row.kind == Kind.EVENT and named[0] == row.name
                else ""
            ),
        )
        if row.kind == Kind.EVENT
        else ""
    )
    SmallClass.objects.create(big_class=big, code=row.code, name=row.name, keywords=keywords)
    report.count(subject, "created")


def _seed_case_standards(standards: list[ClassificationStandard], *, report: SeedReport) -> None:
    """Create the case standard of every small class of `standards` that has none. Never updates."""
    missing = SmallClass.objects.filter(
        big_class__standard__in=standards, case_standard__isnull=True
    )
    for small in missing.select_related("big_class__standard").order_by("pk"):
        schema = _schema_for(small)
        limit, unit = DEFAULT_LIMIT
        CaseStandard.objects.create(
            small_class=small, time_limit=limit, time_limit_unit=unit, attribute_schema=schema or {}
        )
        report.count("case standards", "created")
        if schema:
            report.schemas_attached.append(f"{small.big_class.standard.code} {small.code}")


def _schema_for(small: SmallClass) -> dict | None:
    """The named violation type's schema, only if the class is an event with the expected name."""
    named = NAMED_CLASSES.get((small.big_class.standard.code, small.code))
    if named is None or small.big_class.kind != Kind.EVENT or small.name != named[0]:
        return None
    return named[1].schema


def _check_named_classes(*, report: SeedReport) -> None:
    """Warn about a named class docs/domain.md §2 maps to that is missing or carries another name."""
    for (std, code), (name, _vt) in NAMED_CLASSES.items():
        found = SmallClass.objects.filter(
            big_class__standard__code=std, big_class__kind=Kind.EVENT, code=code
        ).first()
        if found is None or found.name != name:
            actual = found.name if found else "missing"
            report.warnings.append(f"{std} {code}: expected {name}, found {actual}; not mapped")


def _sync(obj, **values) -> str:
    """Set the fields in `values` that differ and save only those: 'updated' or 'unchanged'."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    obj.save(update_fields=changed)
    return "updated"
