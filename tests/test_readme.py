"""The README tells how to run collab: every variable `make run` reads, and how to turn DEBUG on."""

import re

from tests.procs import ROOT


def test_every_variable_make_run_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    launcher = (ROOT / "collab" / "launch.py").read_text()
    names = set(re.findall(r'environ\.get\("([A-Z_]+)"', launcher)) | set(re.findall(r'env\.get\("([A-Z_]+)"',
                                                                                     launcher))
    assert {"COLLAB_HOST", "COLLAB_PORT"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"not in the README: {missing}"
    assert "DEBUG=true make run" in readme
