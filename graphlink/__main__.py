from graphlink.cli import app

app(prog_name="graphlink")
