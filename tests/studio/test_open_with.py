"""A spreadsheet opened with Atelier from the desktop (the desktop entry's ``Exec=atelier %f``)
starts the studio with it imported; anything else still goes to the command line."""

from __future__ import annotations

import asyncio
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest

from atelier.studio import launch
from atelier.studio.app import import_when_shown
from tests.support.qt import wait_until

DESKTOP = Path(__file__).resolve().parents[2] / "packaging/linux/io.github.atelier.Studio.desktop"


def test_one_spreadsheet_opens_the_studio_with_it_and_commands_stay_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path | None] = []
    ran: list[list[str]] = []
    monkeypatch.setattr(
        "atelier.studio.app.main", lambda argv, sheet=None: opened.append(sheet) or 0
    )
    monkeypatch.setattr("atelier.cli.main.run_command", lambda argv: ran.append(list(argv)) or 0)
    sheet = tmp_path / "Shop.CSV"
    sheet.write_text("Title\nCup\n", encoding="utf-8")
    assert launch.choose([str(sheet)]) == 0
    assert launch.choose([]) == 0
    assert opened == [sheet, None]
    (tmp_path / "run").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for argv in (["run"], ["missing.csv"], [str(sheet), "--x"], ["--version"], ["notes.md"]):
        launch.choose(argv)
    assert ran == [["run"], ["missing.csv"], [str(sheet), "--x"], ["--version"], ["notes.md"]]


def test_the_desktop_entry_passes_the_file_and_names_the_types_the_studio_reads() -> None:
    entry = ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(DESKTOP, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Exec"] == "atelier %f"
    types = set(filter(None, section["MimeType"].split(";")))
    assert {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    } <= types


def test_the_file_is_imported_once_the_window_shows(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    # The window's own import (the fixture's stand-in waits on the loop, which runs here).
    window.load_spreadsheet = type(window).load_spreadsheet.__get__(window)
    import_when_shown(window, data_dir / "shopify-home-goods.csv")
    qloop.run_until_complete(
        wait_until(lambda: window.sheet.sheet_model.rowCount() > 0, what="the sheet imported")
    )
    assert window.sheet.table.source.name == "shopify-home-goods.csv"
