"""Nothing of the user's is touched: a file in the output folder that Atelier did not make is
never replaced (new names instead, unless ``--overwrite``), and only Atelier's own temporary
files are ever deleted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from atelier.core.models import JobSpec, RunSettings
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.output.images import made_by_atelier
from atelier.store import Store
from tests.support.batches import store_batch
from tests.support.cli import run_cli
from tests.support.record import record


def _run(*argv: str) -> tuple[int, dict[str, object]]:
    r = run_cli(*argv, "--format", "json")
    return r.code, r.report()


def test_the_users_files_are_kept_and_new_images_get_new_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mine = {"CUP-1.png": b"my own photo", "BOWL-1.png": b"another"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    sheet = tmp_path / "s.csv"
    sheet.write_text("SKU\nCUP-1\nBOWL-1\nPLATE-1\n", encoding="utf-8")
    argv = ["run", "--csv", str(sheet), "--prompt", "photo of {SKU}", "--filename", "{SKU}"]
    argv += ["--provider", "draft", "--size", "256x256", "--output-dir", str(out)]
    code, report = _run(*argv)
    assert code == 0
    assert all((out / n).read_bytes() == d for n, d in mine.items())  # untouched
    written = sorted(Path(str(r["output_path"])).name for r in report["results"])  # type: ignore[index, union-attr]
    assert written == ["BOWL-1-2.png", "CUP-1-2.png", "PLATE-1.png"]
    assert any("CUP-1.png" in w and "not Atelier's" in w for w in report["warnings"])  # type: ignore[union-attr]
    # Running it again resumes: the new names are the batch's, nothing is renamed twice.
    code, again = _run(*argv)
    assert code == 0 and again["batch_id"] == report["batch_id"]
    # With --overwrite the user asked for it: their files are replaced by Atelier's.
    code, over = _run(*argv, "--overwrite")
    assert code == 0 and over["succeeded"] == 3
    assert made_by_atelier(out / "CUP-1.png") and made_by_atelier(out / "BOWL-1.png")
    record("user files in the output folder", runs=3, user_files_touched=0, jobs=3)


def test_a_user_file_that_appears_during_a_run_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    store = Store(tmp_path / "s.db")
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="256x256") for i in range(3)]
    bid = store_batch(store, RunSettings(), specs, out)
    out.mkdir()
    (out / "p1.png").write_bytes(b"appeared after planning")  # the user saved one meanwhile
    report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    by = {r.prompt: r for r in report.results}
    assert (out / "p1.png").read_bytes() == b"appeared after planning"
    assert by["p1"].status == "failed" and by["p1"].error_type == "output"
    assert "not made by Atelier" in (by["p1"].error or "")
    assert by["p0"].status == by["p2"].status == "completed"
    assert report.stopped_reason is None  # one job, not the run
    store.close()
