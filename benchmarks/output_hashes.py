"""SHA-256 of every output table for fixed inputs: the before/after check of a refactor.

Runs ``python -m graphlink detect`` (the CLI, from the current working directory)
on the repository fixture and, when given, on a simulated world, and prints one
line per output file: ``<world> <file> <sha256>``. Run it before and after a
behaviour-preserving change and diff the two listings; they must be identical.

Usage::

    python -m graphlink simulate /tmp/world-1m --preset medium --seed 505   # once
    python benchmarks/output_hashes.py [--world /tmp/world-1m] > hashes.txt

Only the code and inputs decide the bytes: ``run.json`` (timings, versions,
paths) is deliberately not hashed.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

TABLES = ("accounts", "clusters", "evidence", "memberships", "activity")
ROOT = Path(__file__).resolve().parent.parent


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, or ``missing`` when it does not exist."""
    if not path.is_file():
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def detect_hashes(events: Path, accounts: Path | None, out_dir: Path) -> dict[str, str]:
    """Run the CLI detect into ``out_dir`` and hash its tables."""
    cmd = [sys.executable, "-m", "graphlink", "detect", str(events), "--out", str(out_dir), "--quiet"]
    if accounts is not None:
        cmd += ["--accounts", str(accounts)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return {name: sha256(out_dir / f"{name}.parquet") for name in TABLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, help="a folder written by `graphlink simulate` (events/accounts.parquet)")
    args = parser.parse_args()
    worlds = [("fixture", ROOT / "fixtures" / "events.parquet", ROOT / "fixtures" / "accounts.parquet")]
    if args.world is not None:
        accounts = args.world / "accounts.parquet"
        worlds.append((args.world.name, args.world / "events.parquet", accounts if accounts.is_file() else None))
    with tempfile.TemporaryDirectory() as tmp:
        for name, events, accounts in worlds:
            for table, digest in detect_hashes(events, accounts, Path(tmp) / name).items():
                print(f"{name} {table} {digest}", flush=True)


if __name__ == "__main__":
    main()
