"""Inputs larger than memory: is the prompt text streamed, never held whole?

Builds a prompt-heavy log from the bundled fixture by repeating each prompt
``--repeat`` times (the Parquet file stays small: repeated text compresses),
so the events' text would need far more memory than the rest of the run,
then runs ``graphlink detect`` on it in a subprocess and compares the child's
peak RSS with the in-memory size of the events (computed from the file
without loading it)::

    python benchmarks/larger_than_memory.py --repeat 100

Prints one JSON object; BENCHMARKS.md ("Scale") quotes the result. Prompts are
hashed while streaming and only the sampled ones (at most
``max_prompts_total``, cut to ``max_words_per_prompt`` words) are read back, so
peak memory follows events x ~50 bytes plus accounts, not the prompt text.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def inflate(source: Path, target: Path, repeat: int) -> None:
    """Write ``source`` with every prompt repeated ``repeat`` times, streaming.

    Row groups of 2,000 events (~30 MB of prompt text at --repeat 100): a reader
    decodes a row group's column at once, so one giant row group would be
    loaded whole by any Parquet reader.
    """
    prompt = pl.concat_str([pl.col("prompt")] * repeat, separator=" ")
    pl.scan_parquet(source).with_columns(prompt.alias("prompt")).sink_parquet(target, row_group_size=2000)


def in_memory_bytes(path: Path) -> int:
    """What the events would take loaded whole: text bytes plus 8 bytes per other value."""
    lf = pl.scan_parquet(path)
    schema = lf.collect_schema()
    sizes = [pl.col(c).str.len_bytes().cast(pl.UInt64).sum() if schema[c] == pl.String else pl.len() * 8
             for c in schema.names()]
    return int(sum(lf.select(sizes).collect().row(0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench-out" / "larger-than-memory")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    events = args.work_dir / "events.parquet"
    if args.prepare:
        inflate(ROOT / "fixtures" / "events.parquet", events, args.repeat)
        print(in_memory_bytes(events))
        return 0
    # Prepared in a child process: Linux carries a process's peak RSS across fork
    # and exec, so detect launched from a parent that had just held the inflated
    # prompts would report the parent's peak as its own.
    prepared = subprocess.run([sys.executable, __file__, "--prepare", "--repeat", str(args.repeat),
                               "--work-dir", str(args.work_dir)], capture_output=True, text=True, check=True)
    size = int(prepared.stdout.split()[-1])
    out = args.work_dir / "detect"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "graphlink", "detect", str(events), "--accounts",
                           str(ROOT / "fixtures" / "accounts.parquet"), "--out", str(out), "-q"],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    # The detect process's own high-water mark (run.json), not RUSAGE_CHILDREN: that
    # is the maximum over every child, the preparing one included.
    run = json.loads((out / "run.json").read_text()) if done.returncode == 0 else {}
    peak_mib = max((v for v in run.get("peak_rss_mb", {}).values() if v is not None), default=float("nan"))
    result = {
        "repeat": args.repeat, "events": pl.scan_parquet(events).select(pl.len()).collect().item(),
        "file_mib": round(events.stat().st_size / 2**20, 1), "in_memory_mib": round(size / 2**20, 1),
        "detect_rc": done.returncode, "detect_wall_s": round(wall, 1), "detect_peak_rss_mib": round(peak_mib, 1),
        "peak_over_in_memory": round(peak_mib * 2**20 / size, 3),
    }
    if done.returncode:
        result["stderr"] = done.stderr[-500:]
    print(json.dumps(result, indent=2))
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
