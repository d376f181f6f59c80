#!/usr/bin/env python3
"""Where a kernel's warps wait, instruction by instruction: reads the SASS
page of an ncu report (`ncu -i R.ncu-rep --page source --csv --print-source
sass`, collected with `--section SourceCounters`) and prints the
instructions that hold the most warp-stall samples, until they cover
`--cover` of them, with each one's share.

  python3 bench/gpu/stall_ledger.py R-sass.csv [--cover 0.8] [--top 20]

A report of several launches has one page per launch; their samples are
summed by instruction offset.
"""
import argparse
import csv
import sys

SAMPLES = "Warp Stall Sampling (All Samples)"


def pages(path):
    """Yields (kernel name, header, rows) for each launch's page."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    i = 0
    while i < len(rows):
        if rows[i] and rows[i][0] == "Kernel Name":
            name = rows[i][1] if len(rows[i]) > 1 else "?"
            header = rows[i + 1]
            j = i + 2
            while j < len(rows) and not (rows[j] and rows[j][0] == "Kernel Name"):
                j += 1
            yield name, header, rows[i + 2:j]
            i = j
        else:
            i += 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("csv")
    p.add_argument("--cover", type=float, default=0.8,
                   help="stop once the listed instructions hold this share")
    p.add_argument("--top", type=int, default=30, help="list at most this many")
    a = p.parse_args()
    totals, source, names, launches = {}, {}, set(), 0
    for name, header, rows in pages(a.csv):
        if SAMPLES not in header or "Source" not in header:
            sys.exit(f"{a.csv}: no '{SAMPLES}' column (collect with "
                     "--section SourceCounters)")
        ia, isrc = header.index(SAMPLES), header.index("Source")
        names.add(name)
        launches += 1
        for k, r in enumerate(rows):
            if len(r) <= max(ia, isrc) or not r[ia].isdigit():
                continue
            totals[k] = totals.get(k, 0) + int(r[ia])
            source[k] = r[isrc].strip()
    if not launches:
        sys.exit(f"{a.csv}: no ncu source page found")
    total = sum(totals.values())
    print(f"{', '.join(sorted(names))}: {launches} launch(es), {total} stall "
          f"samples over {len(totals)} instructions")
    if not total:
        return
    covered = 0
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    for n, (k, v) in enumerate(ranked):
        if n >= a.top or covered >= a.cover * total:
            break
        covered += v
        print(f"{v:7d} {100 * v / total:5.1f}%  #{k:<5d} {source[k][:100]}")
    print(f"listed: {100 * covered / total:.1f}% of the samples")


if __name__ == "__main__":
    main()
