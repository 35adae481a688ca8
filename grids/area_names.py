"""Display names of the demo city's districts, streets and communities, derived from the SIP grid
layers (fixtures/sip) so that no two areas of one level share a name.

The layers name streets and communities on every grid row; the 12-digit community code and the
9-digit street code give the hierarchy. Rules (issue 18):

- a street or community takes the name most of its grid rows give it (320506010 is 胜浦街道 on
  178 rows and 唯亭街道 on 2);
- a district (the park's own county-level statistical prefixes 320505, 320506, 320591, which the
  layers do not name) is 苏州工业园区 with the streets it groups: 苏州工业园区（斜塘、娄葑片区）;
- where two areas of one level would still share a name, the one with the most grids keeps it
  and the others get their own code as a suffix: 胜浦街道（320591010）, 林泉社区（320505006040）.

`fixtures/sip/area_names.csv` is this module's output (`python manage.py sip_area_names` writes
it; tests/test_demo_city.py checks it never drifts); `import_grids --area-names` reads it.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

PARK = "苏州工业园区"


def sip_area_names(layers: list[Path]) -> dict[str, str]:
    """code → display name for every district, street and community of the layers."""
    names: dict[str, Counter] = defaultdict(Counter)
    grids: Counter = Counter()
    for path in layers:
        for feature in json.loads(Path(path).read_text(encoding="utf-8"))["features"]:
            p = feature["properties"]
            code = str(p["grid_code"])
            if len(code) != 15:
                code = str(p["community_code"]) + code[-3:]
            street, community = code[:9], code[:12]
            names[street][p["street_name"]] += 1
            names[community][p["community_name"]] += 1
            for prefix in (code[:6], street, community):
                grids[prefix] += 1
    result = {code: counts.most_common(1)[0][0] for code, counts in names.items()}
    for district in sorted({code[:6] for code in result}):
        streets = sorted(c for c in result if len(c) == 9 and c.startswith(district))
        short = []
        for street in streets:
            name = result[street].removesuffix("街道")
            if name not in short:
                short.append(name)
        result[district] = f"{PARK}（{'、'.join(short)}片区）"
    for length in (6, 9, 12):
        by_name: dict[str, list[str]] = defaultdict(list)
        for code in sorted(c for c in result if len(c) == length):
            by_name[result[code]].append(code)
        for name, codes in by_name.items():
            if len(codes) < 2:
                continue
            keeper = max(codes, key=lambda c: (grids[c], -int(c)))
            for code in codes:
                if code != keeper:
                    result[code] = f"{name}（{code}）"
    return dict(sorted(result.items(), key=lambda item: (len(item[0]), item[0])))


def write_csv(names: dict[str, str], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "name"])
        writer.writerows(names.items())


def read_csv(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as source:
        return {row["code"]: row["name"] for row in csv.DictReader(source)}
