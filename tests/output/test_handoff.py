"""The export ZIP as a designer hands it on: each entry carries the job's own file name (the
pick of ``cup.png`` is ``cup.png``, whichever version it is), and ``manifest.csv`` lists the
row's values in the sheet's column order, even when a row left some cells empty."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from pathlib import Path

from atelier.core import paths
from atelier.core.models import JobSpec, RunSettings
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.output import handoff
from atelier.output.versions import regenerate
from atelier.store import Store
from tests.support.batches import store_batch

SHEET = ["SKU", "Title", "Colour", "Price"]


def _spec(i: int, values: dict[str, str]) -> JobSpec:
    return JobSpec(
        prompt=f"photo of {values['SKU']}",
        output_path=f"{values['SKU']}.png",
        size="256x256",
        row_index=i,
        row_values=values,
    )


def test_the_pick_of_cup_is_cup_png_and_the_manifest_keeps_the_sheet_order(
    tmp_path: Path,
) -> None:
    store = Store(paths.store_path())
    out = tmp_path / "out"
    # The first row's Title is empty: a job keeps only its non-empty cells.
    specs = [
        _spec(0, {"SKU": "cup", "Colour": "red", "Price": "3"}),
        _spec(1, {"SKU": "mug", "Title": "Mug", "Colour": "blue", "Price": "4"}),
    ]
    bid = store_batch(store, RunSettings(), specs, out)
    engine = Engine(store, make_provider_factory(Settings()))
    asyncio.run(engine.run(bid))
    cup = store.jobs(bid)[0]
    assert regenerate(store, bid, [cup.id]).job_ids == [cup.id]
    asyncio.run(engine.run(bid))
    images = handoff.chosen(store, bid, handoff.Selection())
    assert [(im.path.name, im.version) for im in images] == [("cup.v2.png", 2), ("mug.png", 1)]

    zpath = tmp_path / "all.zip"
    assert handoff.export_zip(store, bid, images, zpath) == 2
    with zipfile.ZipFile(zpath) as z:
        names = [n for n in z.namelist() if n != "manifest.csv"]
        assert z.read("cup.png") == (out / "cup.v2.png").read_bytes()
        rows = list(csv.reader(io.StringIO(z.read("manifest.csv").decode("utf-8-sig"))))
    assert names == ["cup.png", "mug.png"]
    header = rows[0]
    assert header[len(handoff.MANIFEST_COLUMNS) :] == SHEET
    by_file = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_file["cup.png"]["version"] == "2" and by_file["cup.png"]["Title"] == ""
    assert by_file["mug.png"]["Title"] == "Mug"
    store.close()


def test_column_order_is_put_back_together_from_rows_with_gaps() -> None:
    from atelier.output.export import (
        column_order,  # new: the file's first test runs on older code too
    )

    rows = [["A", "C"], ["B", "C", "D"], ["A", "B"], ["A", "C", "D", "E"]]
    assert column_order(rows) == ["A", "B", "C", "D", "E"]
    assert column_order([]) == []
    assert column_order([["Z", "Y"], ["X"]]) == ["Z", "Y", "X"]
    assert column_order([["B", "C"], ["A", "C"]]) == ["B", "A", "C"]
