"""Bad input is stopped at the door: exit 2 and one sentence naming the flag, field, row or
file, before anything is stored or sent, and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from atelier.core import paths
from atelier.store import Store
from tests.conftest import REPO
from tests.support.cli import run_cli
from tests.support.record import record

TRIED: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _record_what_was_tried() -> object:
    """After the module: how many bad inputs were tried (each one asserted exit 2, a named
    place, no traceback and nothing stored)."""
    yield
    record("bad inputs at the door", runs=len(TRIED), tracebacks=0, batches_stored=0)


def _run(*argv: str) -> tuple[int, str]:
    try:
        r = run_cli(*argv)
    except BaseException as e:  # a traceback a user would see
        raise AssertionError(f"{argv} raised {type(e).__name__}: {e}") from e
    return r.code, r.err + r.out


def _nothing_stored() -> bool:
    if not paths.store_path().exists():
        return True
    store = Store(paths.store_path())
    try:
        return store.batches() == []
    finally:
        store.close()


def _csv(tmp_path: Path, text: str, name: str = "sheet.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _expect_door(argv: list[str], *names: str) -> None:
    code, text = _run(*argv)
    TRIED.append(" ".join(argv))
    assert code == 2, (argv, text)
    assert "Traceback" not in text, text
    for n in names:
        assert n in text, (n, text)
    assert _nothing_stored(), argv


FLAGS = [
    (["--sample-count", "11"], "--sample-count"),
    (["--sample-count", "0"], "--sample-count"),
    (["--timeout", "0"], "--timeout"),
    (["--job-timeout", "0"], "--job-timeout"),
    (["--max-concurrent", "0"], "--max-concurrent"),
    (["--max-concurrent", "65"], "--max-concurrent"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "x"], "--seed"),
    (["--size", "huge"], "--size"),
    (["--size", "0x0"], "--size"),
    (["--budget", "-1"], "--budget"),
    (["--max-retries", "99"], "--max-retries"),
    (["--delimiter", "ab"], "--delimiter"),
]


@pytest.mark.parametrize("flag,name", FLAGS, ids=[" ".join(f) for f, _ in FLAGS])
def test_out_of_range_flags_also_over_a_config(
    tmp_path: Path, data_dir: Path, flag: list[str], name: str
) -> None:
    cfg = data_dir / "batch-configs" / "batch-simple.json"
    out = str(tmp_path / "out")
    _expect_door(["run", str(cfg), "--provider", "draft", "--output-dir", out, *flag], name)
    sheet = _csv(tmp_path, "Title\nCup\n")
    common = ["--prompt", "{Title}", "--provider", "draft", "--output-dir", out]
    _expect_door(["run", "--csv", str(sheet), *common, *flag], name)


def test_config_paths_that_are_not_files(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.json"
    folder.mkdir()
    _expect_door(["run", str(folder), "--provider", "draft"], "a-folder.json", "folder")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    # Run in a child so that a read that blocks on the FIFO fails the test instead of hanging it.
    res = subprocess.run(
        [sys.executable, "-m", "atelier.cli", "run", str(fifo), "--provider", "draft"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    TRIED.append(f"run {fifo}")
    assert res.returncode == 2 and "fifo.json" in res.stderr and "regular file" in res.stderr
    deep = tmp_path / "deep.json"
    deep.write_text('{"jobs": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    _expect_door(["run", str(deep), "--provider", "draft"], "deep.json", "nested too deeply")


def test_output_folders_that_cannot_take_images(tmp_path: Path, data_dir: Path) -> None:
    cfg = str(data_dir / "batch-configs" / "batch-simple.json")
    a_file = tmp_path / "taken.txt"
    a_file.write_text("mine", encoding="utf-8")
    _expect_door(
        ["run", cfg, "--provider", "draft", "--output-dir", str(a_file)], "taken.txt", "is a file"
    )
    assert a_file.read_text(encoding="utf-8") == "mine"
    _expect_door(["run", cfg, "--provider", "draft", "--output-dir", "/dev/null"], "/dev/null")
    # Not writable even for root: /proc takes no new folders.
    _expect_door(
        ["run", cfg, "--provider", "draft", "--output-dir", "/proc/atelier-out"],
        "/proc/atelier-out",
    )
    long_name = tmp_path / ("x" * 300)
    _expect_door(
        ["run", cfg, "--provider", "draft", "--output-dir", str(long_name)], "over 255 bytes"
    )


def test_paths_too_long_and_file_folder_clashes(tmp_path: Path) -> None:
    deep = "/".join(["d" * 200] * 25)  # each part fine, the whole path over the OS's 4096 bytes
    sheet = _csv(tmp_path, f"Name\n{deep}/a\n")
    out = ["--provider", "draft", "--output-dir", str(tmp_path / "out")]
    _expect_door(
        ["run", "--csv", str(sheet), "--prompt", "p {Name}", "--filename", "{Name}", *out],
        "longer than",
    )
    clash = _csv(tmp_path, "Name\na\na.png/b\n", "clash.csv")
    _expect_door(
        ["run", "--csv", str(clash), "--prompt", "p {Name}", "--filename", "{Name}", *out],
        "row 2",
        "a.png",
    )


def test_reference_that_is_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_text("not an image", encoding="utf-8")
    sheet = _csv(tmp_path, "Title,Ref\nCup,photo.png\n")
    _expect_door(
        [
            "run",
            "--csv",
            str(sheet),
            "--prompt",
            "{Title}",
            "--reference-column",
            "Ref",
            "--provider",
            "draft",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        "row 1",
        "'Ref'",
        "not an image",
    )


def test_an_unbalanced_quote_is_an_error_with_its_line(tmp_path: Path) -> None:
    sheet = _csv(tmp_path, 'Title,Colour\nCup,"red\nBowl,blue\nPlate,green\n')
    _expect_door(
        ["run", "--csv", str(sheet), "--prompt", "{Title}", "--provider", "draft"],
        "sheet.csv line 2",
        "quote",
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_spreadsheets_are_detected(tmp_path: Path, encoding: str) -> None:
    from atelier.sheet.tabular import read_csv

    sheet = _csv(tmp_path, "品番,商品名\nJP-001,急須\nJP-002,湯呑\n", encoding=encoding)
    table = read_csv(sheet)
    assert table.headers == ["品番", "商品名"]
    assert [r[1] for r in table.rows] == ["急須", "湯呑"]


def test_a_sheet_claiming_a_far_cell_imports_quickly(tmp_path: Path) -> None:
    import time

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Title", "Colour"])
    ws.append(["Cup", "red"])
    ws["XFD1048576"] = "far away"
    path = tmp_path / "far.xlsx"
    wb.save(path)
    from atelier.sheet.tabular import read_xlsx

    began = time.monotonic()
    table = read_xlsx(path)
    assert time.monotonic() - began < 20
    assert table.headers == ["Title", "Colour"] and table.rows[0] == ["Cup", "red"]
