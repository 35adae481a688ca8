"""Generated findings (docs/domain.md §7): the pre-filled 存在问题 and 下周工作要求 a centre head keeps or
replaces at publication. Read from a snapshot only: the worst-scored units and streets, the
small classes that grew most, the longest overdue cases.

Written in the language active when the snapshot is built (the official edition: Chinese).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from reports.labels import PERIOD_WORDS

WORST = 3  # units, streets, classes and cases named in the findings


def _worst(rows: list[dict]) -> list[dict]:
    """The lowest-scored rows (scored only), worst first; the snapshot's order breaks ties."""
    scored = [r for r in rows if r.get("score") is not None]
    return sorted(scored, key=lambda r: r["score"])[:WORST]


def _join(names: list[str]) -> str:
    return str(_("、")).join(n for n in names if n)


def _overdue(case: dict) -> str:
    days = case.get("overdue_days")
    if days is None:
        return ""
    if case.get("overdue_unit") == "calendar_days":
        return _("%(days)s calendar days") % {"days": f"{days:g}"}
    return _("%(days)s working days") % {"days": f"{days:g}"}


def generate(data: dict) -> dict[str, str]:
    """{"problems": …, "requirements": …} as numbered lines; empty lines are left out."""
    meta = data["meta"]
    _this, before = PERIOD_WORDS.get(meta["kind"], PERIOD_WORDS["weekly"])
    current, change = data["overall"]["current"], data["overall"]["change"]
    problems: list[str] = []
    requirements: list[str] = []

    overdue = current.get("overdue_open") or 0
    if overdue:
        problems.append(
            _(
                "%(n)d cases were overdue and not disposed at the cut-off (%(change)s on %(before)s)."
            )
            % {"n": overdue, "before": before, "change": _change_count(change.get("overdue_open"))}
        )
    rate = current.get("closure_rate")
    if rate is not None and (change.get("closure_rate") or 0) < 0:
        problems.append(
            _(
                "The closure rate fell to %(rate).2f%%, %(points).2f percentage points below %(before)s."
            )
            % {"rate": rate, "points": -change["closure_rate"], "before": before}
        )

    units = _worst(data["units"]["rows"])
    if units:
        problems.append(
            _("Lowest-scored handling units: %(units)s.")
            % {
                "units": _join(
                    [
                        _("%(name)s (%(score).1f points, disposal rate %(rate)s)")
                        % {
                            "name": u["name"],
                            "score": u["score"],
                            "rate": "—"
                            if u.get("disposal_rate") is None
                            else f"{u['disposal_rate']:.2f}%",
                        }
                        for u in units
                    ]
                )
            }
        )
    late_units = [u for u in data["units"]["overdue"]][:WORST]
    if late_units:
        requirements.append(
            _(
                "%(units)s: finish the overdue cases listed in this report and report back "
                "with photos."
            )
            % {"units": _join([u["name"] for u in late_units])}
        )

    streets = _worst(data["areas"]["streets"])
    if streets:
        problems.append(
            _("Lowest-scored streets: %(streets)s.")
            % {
                "streets": _join(
                    [
                        _("%(name)s (%(score).1f points, closure rate %(rate)s)")
                        % {
                            "name": s["name"],
                            "score": s["score"],
                            "rate": "—"
                            if s.get("closure_rate") is None
                            else f"{s['closure_rate']:.2f}%",
                        }
                        for s in streets
                    ]
                )
            }
        )
        requirements.append(
            _("%(streets)s: find why cases close late and strengthen patrols and supervision.")
            % {"streets": _join([s["name"] for s in streets])}
        )

    grown = sorted(
        (c for c in data["categories"]["top_small"] if (c.get("change") or 0) > 0),
        key=lambda c: -c["change"],
    )[:WORST]
    if grown:
        problems.append(
            _("Classes that grew most: %(classes)s.")
            % {
                "classes": _join(
                    [
                        _("%(name)s (%(count)d registered, up %(change)d)")
                        % {"name": c["name"], "count": c["count"], "change": c["change"]}
                        for c in grown
                    ]
                )
            }
        )
        requirements.append(
            _("Take focused action on %(classes)s.")
            % {"classes": _join([c["name"] for c in grown])}
        )

    longest = data["lists"]["red"][:WORST]
    if longest:
        problems.append(
            _("Longest overdue: %(cases)s.")
            % {
                "cases": _join(
                    [
                        _(
                            "case %(number)s (%(category)s, %(where)s, %(unit)s, overdue %(overdue)s)"
                        )
                        % {
                            "number": c["number"],
                            "category": c["category"],
                            "where": c.get("address") or c.get("grid_name"),
                            "unit": c.get("unit") or "—",
                            "overdue": _overdue(c),
                        }
                        for c in longest
                    ]
                )
            }
        )

    requirements.append(
        _("Officers keep up their daily patrols and report problems promptly and accurately.")
    )
    if not problems:
        problems.append(_("No notable problem this period."))
    return {"problems": _numbered(problems), "requirements": _numbered(requirements)}


def _change_count(value) -> str:
    if value is None:
        return _("no comparable data")
    if value == 0:
        return _("unchanged")
    return (_("up %(amount)s") if value > 0 else _("down %(amount)s")) % {
        "amount": _("%(count)s cases") % {"count": f"{abs(value):g}"}
    }


def _numbered(lines: list[str]) -> str:
    return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))
