"""``python -m graphlink``: the command line (:mod:`graphlink.cli` sets its allocator tuning before polars loads)."""

from graphlink.cli import app

app(prog_name="graphlink")
