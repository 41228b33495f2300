"""Planning large sheets fast (``bench/plan_rows.py``) without changing what is planned: the
short cuts (lines split without a ``StringIO``, plain file names, copied jobs, jobs priced by
kind) give what the general rules give."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from atelier.core.errors import InputError
from atelier.core.models import JobDefaults, JobSpec
from atelier.pricing.table import PriceTable
from atelier.sheet.plan import Plan, plan_from_table
from atelier.sheet.tabular import read_csv
from atelier.sheet.templates import UniqueNamer, safe_component, safe_relative_path, split_ext


@pytest.mark.parametrize(
    "text",
    [
        "a,b\r\n1,2\r\n3,4\r\n",
        "a,b\r1,2\r3,4",
        'a,b\n1,"two\nlines"\n3,4\n',
        'a,b\n1,"x\u2028y"\n2,z\x0cw\n3,"p\x85q"\n',  # breaks splitlines knows, CSV does not
        'a,b\n1,"line\r\nbreak"\r\n\n\n4,5',
    ],
)
def test_records_are_those_a_stringio_reader_gives(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8", newline="")
    table = read_csv(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    expected = [r for r in reader if r and not (len(r) == 1 and not r[0].strip())]
    assert [table.headers, *table.rows] == expected


def _general_rule(raw: str, fmt: str) -> str:
    """What ``safe_relative_path`` returned before plain names had a short cut."""
    comps = [safe_component(c) for c in raw.replace("\\", "/").split("/") if c not in ("", ".")]
    comps = [c for c in comps if c]
    stem, suffix = split_ext(comps[-1])
    ext = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}[fmt]
    if suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
        same = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}[suffix.lower()]
        comps[-1] = stem + (suffix if same == fmt else ext)
    else:
        comps[-1] += ext
    return "/".join(comps)


@pytest.mark.parametrize(
    "raw",
    [
        "NH-CND-001",
        "nh-cnd-001.PNG",
        "a.b.c",
        "x.jpeg",
        "folder/sub/SKU_1",
        "CON",
        "con.png",
        "shop/COM1.txt",
        "LPT9",
        "a" * 200,
        "a" * 230,
        "-_-",
    ],
)
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_plain_names_get_what_the_general_rule_gives(raw: str, fmt: str) -> None:
    assert safe_relative_path(raw, fmt) == _general_rule(raw, fmt)


def test_a_file_name_taken_in_another_case_is_numbered_and_folders_still_clash() -> None:
    namer = UniqueNamer()
    assert namer.claim("Cup.png", 1, "row 1") == "Cup.png"
    assert namer.claim("cup.png", 1, "row 2") == "cup-2.png"
    assert namer.claim("shelf/a.png", 1, "row 3") == "shelf/a.png"
    with pytest.raises(InputError, match="row 3 needs a folder"):
        namer.claim("shelf", 1, lambda: "row 4")  # a file where a folder is
    with pytest.raises(InputError) as e:
        namer.claim("Cup.png/b.png", 1, lambda: "row 5")
    assert e.value.where == "row 5" and "row 1 writes a file there" in e.value.message


def _sheet(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "shop.csv"
    lines = ["SKU,Title,Color"] + [
        f"S-{i},Cup {i % 3},{'red' if i % 2 else ''}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_copied_jobs_are_the_jobs_validation_makes(tmp_path: Path) -> None:
    table = read_csv(_sheet(tmp_path, 6))
    defaults = JobDefaults(size="1536x1024", quality="low", sample_count=2, seed=7)
    plan = plan_from_table(table, "Photo of {Title} in {Color}", "{SKU}", "blur", defaults)
    assert len(plan.specs) == 6
    for spec in plan.specs:
        again = JobSpec(**{k: getattr(spec, k) for k in spec.model_fields_set})
        assert spec == again
        assert spec.model_fields_set == again.model_fields_set
    first, second = plan.specs[0], plan.specs[1]
    assert first.reference_images is not second.reference_images
    assert first.row_indexes is not second.row_indexes
    assert second.row_values == {"SKU": "S-1", "Title": "Cup 1", "Color": "red"}
    assert plan.specs[2].row_values == {"SKU": "S-2", "Title": "Cup 2"}  # no empty cells
    empty = [w for w in plan.warnings if "{Color}" in w]
    assert empty == [
        "column {Color} is empty in 3 rows: row 1 (line 2); row 3 (line 4); row 5 (line 6)"
    ]


def test_jobs_alike_are_priced_as_one_line_to_the_same_total(tmp_path: Path) -> None:
    table = read_csv(_sheet(tmp_path, 5))
    plan = plan_from_table(table, "Photo of {Title}", "{SKU}", defaults=JobDefaults(quality="low"))
    hd = plan_from_table(
        table, "Photo of {Title}", "hd-{SKU}", defaults=JobDefaults(quality="high", sample_count=3)
    )
    prices = PriceTable.load(None)
    both = Plan([*plan.specs, *hd.specs, *plan.specs])
    est = prices.estimate_specs(both.specs, "openai", "gpt-image-1.5")
    low = prices.lookup("openai", "gpt-image-1.5", "low", "1024x1024")
    high = prices.lookup("openai", "gpt-image-1.5", "high", "1024x1024")
    assert low is not None and high is not None
    assert est.images == 5 + 15 + 5
    assert est.total_usd == pytest.approx(
        10 * low.for_size("1024x1024") + 15 * high.for_size("1024x1024")
    )


def test_a_column_empty_in_many_rows_is_one_warning(tmp_path: Path) -> None:
    """Not one line per row (13,000 lines for a big export): the count and the first rows;
    a column empty in one row names that row as before."""
    plan = plan_from_table(read_csv(_sheet(tmp_path, 10)), "Photo of {Color}", "{SKU}")
    assert [w for w in plan.warnings if "{Color}" in w] == [
        "column {Color} is empty in 5 rows: row 1 (line 2); row 3 (line 4); row 5 (line 6); …"
    ]
    plan = plan_from_table(read_csv(_sheet(tmp_path, 2)), "Photo of {Color}", "{SKU}")
    assert plan.warnings == ["row 1 (line 2): column {Color} is empty"]


def test_a_consumed_table_plans_the_same_jobs(tmp_path: Path) -> None:
    """The command line's ``consume``: the same plan, and the table's rows let go."""
    path = _sheet(tmp_path, 12)
    kept = plan_from_table(read_csv(path), "Photo of {Title} in {Color}", "{SKU}")
    table = read_csv(path)
    consumed = plan_from_table(table, "Photo of {Title} in {Color}", "{SKU}", consume=True)
    assert consumed.specs == kept.specs and consumed.warnings == kept.warnings
    assert [s.row_values for s in consumed.specs] == [s.row_values for s in kept.specs]
    assert table.rows == []
