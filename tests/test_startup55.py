"""Session 55: the command line starts without loading scipy (suite55's profile: ~1 CPU-s of every command's start,
every Spark worker's too, went on ``scipy.stats`` / ``scipy.sparse`` imported at module level by rotation ties)."""
import subprocess
import sys


def test_the_command_line_loads_without_scipy():
    code = "import sys, graphlink.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout[:500]
