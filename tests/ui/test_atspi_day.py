"""A designer's day, driven through the accessibility tree as a screen reader user would.

The studio runs in its own process on a private Xvfb display with Qt's AT-SPI bridge on; the
test finds its controls by role and name (``tests/ui/atspi_driver.py``), presses them, types
into them and reads its tables, never touching a widget: open a shop export from File → Open
(Qt's own file dialog, its "File name:" field), write the templates and see the preview, see
the estimate on the draft provider, start, read the progress table, cull in the gallery with
P and X, export the pick, quit.

Each step is one function of ``(studio, shop)``: a step for another part of the day goes in
``test_a_designers_day`` in the order a designer would take it.

Needs Xvfb, at-spi2-core and python3-pyatspi (``scripts/setup.sh test`` installs them).
Without them the test is skipped, except in CI (``CI=true``), where it fails instead.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.data.exports import woocommerce_csv
from tests.ui.atspi_driver import Studio, missing_requirements


@dataclass(frozen=True)
class Shop:
    """A shop export and what the day expects of it."""

    path: Path
    rows: int
    prompt: str  # the prompt template
    filename: str  # the file name template
    files: tuple[str, ...]  # the file names it makes, in row order
    preview: str  # the first row's prompt


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    """The acceptance data's Shopify export when present, else a WooCommerce export made here."""
    shopify = DATA / "shopify-home-goods.csv"
    if shopify.is_file():
        first = ("NH-CND-001.png", "NH-CND-002.png", "NH-CND-003.png")
        return Shop(
            shopify,
            38,
            "Studio photo of {Title} in {Option1 Value}",
            "{Variant SKU}",
            first,
            "Studio photo of Nordic Scented Candle in Pine Forest",
        )
    return Shop(
        woocommerce_csv(tmp_path, [[], [], []]),
        3,
        "Studio photo of a {Name}",
        "{SKU}",
        ("WC-1.png", "WC-2.png", "WC-3.png"),
        "Studio photo of a Linen napkin",
    )


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    """The studio on its own display, with a driver reading its accessibility tree."""
    missing = missing_requirements()
    if missing:
        reason = f"the AT-SPI day test needs the Debian packages {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (scripts/setup.sh test installs them)")
        pytest.skip(reason)
    with Studio(tmp_path / "atelier-home", tmp_path / "studio.log") as s:
        yield s


# ---- the steps -----------------------------------------------------------------------------
def all_named(s: Studio, where: str) -> None:
    """Every control on screen has a name or a label, as the screen reader gets it."""
    assert s.unnamed() == [], f"controls without a name with {where} on screen"


def open_export(s: Studio, shop: Shop) -> None:
    """File → Open…, the path typed into the file dialog's "File name:" field, Open."""
    s.menu("File", "Open…")
    s.find("dialog", "Open spreadsheet")
    all_named(s, "the file dialog")
    s.type("File name:", str(shop.path))
    s.click("Open")
    s.text("label", f"{shop.path.name} · {shop.rows} rows")


def fill_template(s: Studio, shop: Shop) -> None:
    """The prompt and file name templates typed in; the preview shows the first row."""
    s.type("Prompt", shop.prompt)
    s.type("File name", shop.filename)
    assert s.find("text", "Prompt")["value"] == shop.prompt
    s.text("label", shop.preview)
    s.text("label", f"→ {shop.files[0]}")
    all_named(s, "the spreadsheet page")


def see_estimate(s: Studio, shop: Shop, out: Path) -> None:
    """The batch page: draft provider (free), an output folder, the estimate read."""
    s.click("2 · Batch & estimate", role="page tab")
    s.choose("Provider", "Draft (offline, free)")
    s.type("Output folder", str(out))
    s.text("label", f"{shop.rows} images · $0.000")
    all_named(s, "the batch page")


def run_on_draft(s: Studio, shop: Shop) -> None:
    """Start; the progress counts reach the end and every row of the table reads Done."""
    s.click("Start")
    s.text("label", f"{shop.rows} done · 0 failed", timeout=60)
    rows = s.table_rows("Jobs")
    assert len(rows) == shop.rows
    assert [r["File"] for r in rows[: len(shop.files)]] == list(shop.files)
    assert {r["Status"] for r in rows} == {"Done"}
    assert rows[0]["Prompt"] == shop.preview
    all_named(s, "the progress page")


def cull(s: Studio, shop: Shop) -> None:
    """The gallery: the first tile clicked, P picks it and moves on, X rejects the next."""
    s.click("4 · Gallery", role="page tab")
    tiles = s.items("Images")
    assert tiles[: len(shop.files)] == list(shop.files)
    s.click_item("Images", shop.files[0])
    s.keys("Images", "px")
    s.text("label", f"1 picked · 1 rejected · {shop.rows - 2} unflagged")
    all_named(s, "the gallery")


def export(s: Studio, shop: Shop, target: Path) -> None:
    """Export…, the ZIP's path typed into the save dialog; the ZIP holds the pick."""
    s.click("Export…")
    s.find("dialog", "Export images")
    s.type("File name:", str(target))
    s.click("Save")
    s.text("status bar", "Exported 1 image(s)")
    with zipfile.ZipFile(target) as z:
        assert shop.files[0] in z.namelist()


def quit_studio(s: Studio) -> None:
    """File → Quit: the studio ends cleanly."""
    s.menu("File", "Quit")
    assert s.wait_exit() == 0


# ---- the day -------------------------------------------------------------------------------
def test_a_designers_day(studio: Studio, shop: Shop, tmp_path: Path) -> None:
    open_export(studio, shop)
    fill_template(studio, shop)
    see_estimate(studio, shop, tmp_path / "out")
    run_on_draft(studio, shop)
    cull(studio, shop)
    export(studio, shop, tmp_path / "picked.zip")
    quit_studio(studio)
