"""Compare two ``graphlink detect`` output folders table by table: the before/after check of a refactor.

Every ``*.parquet`` table of either folder is read and compared with
``DataFrame.equals`` (same columns, dtypes, rows in the same order, nulls
alike; floats bit for bit), and its SHA-256 printed. ``run.json`` is left
out (timings, versions, paths). Exit status 1 when any table differs or is
missing on one side.

Usage::

    python benchmarks/compare_outputs.py /tmp/out-main /tmp/out-branch
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import polars as pl


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    names = sorted({p.name for p in args.before.glob("*.parquet")} | {p.name for p in args.after.glob("*.parquet")})
    differs = 0
    for name in names:
        a, b = args.before / name, args.after / name
        if not (a.is_file() and b.is_file()):
            print(f"{name}: missing in {'before' if not a.is_file() else 'after'}")
            differs += 1
            continue
        fa, fb = pl.read_parquet(a), pl.read_parquet(b)
        same = fa.schema == fb.schema and fa.equals(fb, null_equal=True)
        digest = hashlib.sha256(b.read_bytes()).hexdigest()[:16]
        same_bytes = hashlib.sha256(a.read_bytes()).hexdigest()[:16] == digest
        print(f"{name}: {'identical' if same else 'DIFFERENT'} ({fa.height:,} rows; sha256 {digest}, "
              f"bytes {'equal' if same_bytes else 'differ'})")
        differs += not same
    if not names:
        print("no parquet tables found")
        return 1
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
