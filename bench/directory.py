"""bench/directory: the city directory workbook at a city's size (issue 23 aim: 2,000 people and
1,301 assignments import in under 30 s).

    .venv/bin/python bench/directory.py [--people 2000] [--database-url postgres://…]

A throwaway SQLite database (or the PostgreSQL database given, which it migrates and fills) gets the
1,301 SIP grids (fixtures/sip, as `load_demo` imports them) and the GB/T categories; then a workbook
with 40 organisations, `--people` people (one officer per grid, the rest centre and unit staff), one
assignment per grid and 200 dispatch rules is written and imported with `import_directory` — first
into the empty directory, then again unchanged, then with 100 people gone. Prints the seconds of each
(reading + validating + writing, the command's whole run) and the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import PY, environment, machine, migrate  # noqa: E402

SETUP = """
from django.core.management import call_command
from pathlib import Path
sip = Path("fixtures/sip")
call_command("import_grids", sip / "sip_grid_comprehensive_826.geojson", sip / "sip_grid_dedicated_475.geojson",
             code_map=sip / "code_map.csv", area_names=sip / "area_names.csv", stdout=open("/dev/null", "w"))
from cases.categories import seed_categories
seed_categories()
print("ready")
"""

WORKBOOK = """
import sys
from openpyxl import Workbook
from cases.models import SmallClass
from grids.models import Area, Grid
people_n, path = int(sys.argv[1]), sys.argv[2]
grids = list(Grid.objects.current().order_by("code").values_list("code", flat=True))
streets = list(Area.objects.current().filter(level="street").values_list("code", flat=True))
book = Workbook(); book.remove(book.active)
orgs = book.create_sheet("组织"); orgs.append(["编码", "名称", "类型", "所属区域", "电话"])
orgs.append(["centre", "监督指挥中心", "监督中心", "", ""])
units = [f"unit-{i:02d}" for i in range(39)]
for i, code in enumerate(units):
    orgs.append([code, f"处置单位{i}", "处置单位", streets[i % len(streets)] if i % 3 else "", ""])
people = book.create_sheet("人员"); people.append(["用户名", "姓名", "电话", "组织", "角色", "启用"])
officers = [f"officer{i:04d}" for i in range(len(grids))]
for name in officers:
    people.append([name, "监督员" + name[-4:], "138" + name[-4:].rjust(8, "0"), "centre", "监督员", "是"])
for i in range(people_n - len(officers)):
    people.append([f"staff{i:04d}", f"人员{i}", "", units[i % len(units)], "处置单位人员", "是"])
assign = book.create_sheet("网格分配"); assign.append(["网格编码", "监督员", "开始日期", "结束日期"])
for grid, officer in zip(grids, officers):
    assign.append([grid, officer, "2026-01-01", None])
rules = book.create_sheet("派遣规则"); rules.append(["类型", "类别编码", "区域编码前缀", "处置单位", "优先级"])
classes = list(SmallClass.objects.available().filter(big_class__kind="event").order_by("code")[:100])
for i, small in enumerate(classes):
    rules.append(["事件", small.code, "", units[i % len(units)], 1])
    rules.append(["事件", small.code, streets[i % len(streets)], units[(i + 1) % len(units)], 1])
book.save(path)
print(len(grids), len(classes) * 2)
"""


# The import as import_directory runs it, each phase timed inside one process.
TIMED = """
import sys, time
from people import directory
t0 = time.perf_counter()
report = directory.read_workbook(sys.argv[1])
t1 = time.perf_counter()
directory.validate(report)
assert report.ok, report.summary()
t2 = time.perf_counter()
applied = directory.apply(report, base_url="https://grid.example.gov.cn")
t3 = time.perf_counter()
print(f"{t3 - t0:.1f} s = read {t1 - t0:.1f} + validate {t2 - t1:.1f} + write {t3 - t2:.1f} "
      f"({len(applied.links)} sign-in links)")
print(applied.summary())
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    import subprocess

    with tempfile.TemporaryDirectory(prefix="gridcase-bench-directory-") as folder:
        env = environment(folder, DATABASE_URL=args.database_url)
        migrate(env)
        started = time.perf_counter()
        subprocess.run(
            [PY, "-c", "import django; django.setup()\n" + SETUP],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"setup (1,301 grids, categories): {time.perf_counter() - started:.1f} s")
        book = Path(folder) / "city.xlsx"
        made = subprocess.run(
            [PY, "-c", "import django; django.setup()\n" + WORKBOOK, str(args.people), str(book)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        grids, rules = made.stdout.split()
        print(
            f"workbook: 40 organisations, {args.people} people, {grids} assignments, {rules} dispatch rules"
        )
        smaller = Path(folder) / "smaller.xlsx"
        subprocess.run(
            [
                PY,
                "-c",
                "import sys\nfrom openpyxl import load_workbook\nb = load_workbook(sys.argv[1])\n"
                "ws = b['人员']\nws.delete_rows(ws.max_row - 99, 100)\nb.save(sys.argv[2])",
                str(book),
                str(smaller),
            ],
            check=True,
        )
        for label, path in (
            ("first import", book),
            ("same workbook again", book),
            ("100 people gone", smaller),
        ):
            started = time.perf_counter()
            done = subprocess.run(
                [PY, "-c", "import django; django.setup()\n" + TIMED, str(path)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
            if done.returncode:
                raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
            phases, summary = done.stdout.strip().splitlines()[-2:]
            print(
                f"{label}: {phases} (the process with Django's start: {seconds:.1f} s) — {summary}"
            )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"machine: {machine()}; load average {load}; database: {'PostgreSQL' if args.database_url else 'SQLite'}"
    )


if __name__ == "__main__":
    main()
