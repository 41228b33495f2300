"""The bundle's smoke test (``ATELIER_SMOKE_TEST``, atelier/studio/smoke.py) run from the source
tree, so it cannot rot between bundle builds: the window opens offscreen, the sample project
is imported (off the GUI thread), its three draft images are made, the program exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_the_smoke_test_makes_the_sample_projects_three_images(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "ATELIER_HOME": str(tmp_path / "home"),
        "ATELIER_SMOKE_TEST": str(tmp_path / "out"),
        "PYTHONPATH": str(REPO),
    }
    res = subprocess.run(
        [sys.executable, "-m", "atelier"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "smoke test: ok: 3 images" in res.stdout
    assert len(list((tmp_path / "out").glob("*.png"))) == 3
