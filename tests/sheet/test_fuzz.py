"""Bad input, fuzzed with hypothesis: a clear error naming the place, never a crash, never a
write outside the output folder."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from atelier.core.errors import InputError
from atelier.core.models import load_batch_config
from atelier.output.export import escape_cell, to_csv
from atelier.sheet.plan import plan_from_table
from atelier.sheet.tabular import read_csv
from atelier.sheet.templates import Template, safe_component, safe_relative_path

FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ENCODINGS = ["utf-8", "utf-8-sig", "cp932", "gb18030", "big5", "cp949", "cp1252"]
CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFFF), max_size=40
)
HOSTILE = st.sampled_from(
    [
        "../../etc/passwd",
        "/etc/shadow",
        "C:\\Windows\\win.ini",
        "c:evil",
        "CON",
        "nul.txt",
        "LPT9",
        "..",
        ".",
        "a/../../b",
        "\x00name",
        "tab\there",
        "😀🎉",
        "急須/../茶",
        "x" * 300,
        " trailing. ",
        '=HYPERLINK("http://x")',
        "COM1.png",
        "con .png",
        "\\\\server\\share",
    ]
)


@FAST
@given(data=st.binary(max_size=2000))
def test_any_bytes_read_or_clear_error(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "fuzz.csv"
    p.write_bytes(data)
    try:
        t = read_csv(p)
    except InputError as e:
        assert "fuzz.csv" in str(e)
        return
    assert all(len(r) == len(t.headers) for r in t.rows)


@FAST
@given(
    headers=st.lists(CELL, min_size=1, max_size=6),
    rows=st.lists(st.lists(CELL, max_size=8), max_size=8),
    encoding=st.sampled_from(ENCODINGS),
    nul=st.booleans(),
)
def test_generated_tables_in_every_encoding(
    tmp_path: Path, headers: list[str], rows: list[list[str]], encoding: str, nul: bool
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)  # ragged on purpose
    text = buf.getvalue() + ("\x00" if nul else "")
    p = tmp_path / "t.csv"
    p.write_bytes(text.encode(encoding, errors="replace"))
    try:
        t = read_csv(p)
    except InputError as e:
        assert "t.csv" in str(e)
        return
    width = len(t.headers)
    assert all(
        len(r) == width for r in t.rows
    )  # ragged rows padded or widened, never dropped cells
    assert sum(1 for r in t.rows) <= len(rows) + text.count("\n")


def test_huge_fields_and_formulas(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    huge = "y" * 500_000  # beyond csv's default 128 KB field limit
    p.write_text(f'SKU,Body\nA,"{huge}"\nB,=HYPERLINK("http://evil")\n', encoding="utf-8")
    t = read_csv(p)
    assert t.rows[0][1] == huge and t.rows[1][1].startswith("=HYPERLINK")


@FAST
@given(cell=CELL)
def test_export_escapes_formula_cells(cell: str) -> None:
    out = escape_cell(cell)
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert out == "'" + cell
    else:
        assert out == cell
    parsed = next(csv.reader(io.StringIO(to_csv([[cell]], ["h"]))))  # header row
    assert parsed == ["h"]


@FAST
@given(text=st.text(alphabet=st.sampled_from(list("{}ab 品 {{}}x")), max_size=30))
def test_templates_parse_or_name_the_position(text: str) -> None:
    try:
        t = Template.parse(text, "Prompt")
    except InputError as e:
        assert str(e).startswith("Prompt: ") and "character" in str(e)
        return
    out, empty = t.render({name: "v{x}" for name in t.placeholders})
    literal = sum(len(part) for is_ph, part in t.parts if not is_ph)
    occurrences = sum(1 for is_ph, _ in t.parts if is_ph)
    assert (
        len(out) == literal + 4 * occurrences and empty == []
    )  # values are inserted, never re-parsed


@FAST
@given(name=st.one_of(HOSTILE, CELL), fmt=st.sampled_from(["png", "jpeg", "webp"]))
def test_file_names_never_leave_the_output_folder(tmp_path: Path, name: str, fmt: str) -> None:
    try:
        rel = safe_relative_path(name, fmt, "row 1")
    except InputError as e:
        assert str(e).startswith("row 1: ")
        return
    root = tmp_path.resolve()
    assert (root / rel).resolve().is_relative_to(root)
    for part in PurePosixPath(rel).parts:
        assert part not in ("..", ".") and len(part.encode()) <= 255
        assert not any(ord(c) < 32 for c in part) and not any(c in part for c in '<>:"\\|?*')
        assert part.split(".")[0].strip().upper() not in {
            "CON",
            "PRN",
            "AUX",
            "NUL",
            "COM1",
            "LPT9",
        }


@FAST
@given(values=st.lists(st.one_of(HOSTILE, CELL), min_size=1, max_size=10))
def test_hostile_cells_plan_inside_the_folder(tmp_path: Path, values: list[str]) -> None:
    p = tmp_path / "h.csv"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["name"])
    w.writerows([[v] for v in values])
    p.write_text(buf.getvalue(), encoding="utf-8")
    try:
        table = read_csv(p)
    except InputError:
        return
    assume(table.headers == ["name"])
    plan = plan_from_table(table, "photo of {name}", "{name}")
    root = (tmp_path / "out").resolve()
    names = [s.output_path for s in plan.specs]
    assert len({n.casefold() for n in names}) == len(names)  # unique
    for n in names:
        assert (root / n).resolve().is_relative_to(root)


CONFIG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    CELL,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(CELL, st.integers(), max_size=2),
)
FIELDS = [
    "prompt",
    "output_path",
    "size",
    "quality",
    "output_format",
    "transparent_background",
    "moderation",
    "sample_count",
    "seed",
    "operation",
    "mask",
    "colour",
]


@FAST
@given(
    jobs=st.lists(st.dictionaries(st.sampled_from(FIELDS), CONFIG_VALUES, max_size=6), max_size=3),
    top=st.dictionaries(
        st.sampled_from(["output_dir", "max_concurrent", "timeout", "retry_policy", "speed"]),
        CONFIG_VALUES,
        max_size=3,
    ),
)
def test_configs_load_or_name_the_field(
    tmp_path: Path, jobs: list[dict[str, object]], top: dict[str, object]
) -> None:
    p = tmp_path / "cfg.json"
    p.write_text(json.dumps({"jobs": jobs, **top}, allow_nan=True), encoding="utf-8")
    try:
        cfg = load_batch_config(p)
    except InputError as e:
        where = e.where
        assert where.startswith(str(p)) and (":" in where or "line" in where)
        return
    warnings = cfg.warnings()
    for j, job in enumerate(jobs):
        if "colour" in job:
            assert f"jobs[{j}].colour: unknown key, ignored" in warnings
    if "speed" in top:
        assert "speed: unknown key, ignored" in warnings


@pytest.mark.parametrize("component", ["CON", "com1.txt", "LPT1", "aux.png", "NUL"])
def test_reserved_device_names(component: str) -> None:
    assert safe_component(component).startswith("_")


def test_hostile_sheet_end_to_end_writes_only_inside(tmp_path: Path) -> None:
    from atelier.cli.main import run_command

    names = [
        "../../escape",
        "/etc/evil",
        "C:\\x",
        "CON",
        "a/../../b",
        "😀",
        "急須",
        "x" * 300,
        "=cmd|' /C calc'!A0",
    ]
    p = tmp_path / "work" / "hostile.csv"
    p.parent.mkdir()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["name"])
    w.writerows([[n] for n in names])
    p.write_text(buf.getvalue(), encoding="utf-8")
    out = tmp_path / "work" / "out"
    before = {q for q in tmp_path.rglob("*")}
    code = run_command(
        [
            "run",
            "--csv",
            str(p),
            "--prompt",
            "photo {name}",
            "--filename",
            "{name}",
            "--provider",
            "draft",
            "--size",
            "256x256",
            "--output-dir",
            str(out),
        ],
        io.StringIO(),
        io.StringIO(),
    )
    assert code == 0
    home = tmp_path / "atelier-home"  # the store, logs and thumbnail cache live there by design
    created = {q for q in tmp_path.rglob("*") if not q.is_relative_to(home)} - before
    assert created and all(q.resolve().is_relative_to(out.resolve()) for q in created), created
    assert len(list(out.rglob("*.png"))) == len(names)
    exported = (out / "atelier-report.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd|" in exported or "photo =cmd" in exported  # a formula cell is never left live
    assert ",=" not in exported and "\n=" not in exported
