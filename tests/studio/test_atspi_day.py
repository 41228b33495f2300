"""A designer's day, driven through the accessibility tree as a screen reader user would.

The studio runs in its own process on a private Xvfb display with Qt's AT-SPI bridge on,
making images on a paid provider (OpenAI) against the fake OpenAI server, which runs in this
test's process on 127.0.0.1 and refuses two products by their prompts. The test finds the
studio's controls by role and name (``tests/studio/atspi_driver.py``), presses them, types into
them and reads its labels and tables, never touching a widget. The day, as issue 28 has it:

1. File → Open… a Shopify export (Qt's own file dialog, its "File name:" field);
2. templates typed, then on the batch page OpenAI and "Make one image per" product: the
   estimate reads 18 images (one per product, not 38 rows) and a price;
3. Start → the spend question ("Confirm the cost"): its amount, images and model read, Start;
4. the progress table: two rows refused by moderation, the rest done;
5. one refused row fixed in place: its context menu's "Edit prompt and regenerate…", a new
   prompt typed into the editor, Regenerate, the spend question answered, the row done;
6. the gallery: P and X skip past the tile that stayed failed;
7. Export… the pick into a ZIP typed into the save dialog; the ZIP read from disk;
8. another paid run started and File → Quit while it runs: "Stop and resume later"; the
   studio exits 0 and its store (read here, read-only) keeps the batch paused, jobs pending.

Each step is one function of ``(studio, day)``, in the order a designer takes them.

Needs Xvfb, at-spi2-core and python3-pyatspi (``scripts/setup.sh test`` installs them).
Without them the test is skipped, except in CI (``CI=true``), where it fails instead.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DATA, FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.studio.atspi_driver import Studio, missing_requirements

SHOP = DATA / "shopify-home-goods.csv"
"""The acceptance data's Shopify export: 38 variant rows of 18 products (``Handle``)."""
PRODUCTS = 18
ROWS = 38
PROMPT = "Studio photo of {Title}"  # names only product columns: one image per product
FILENAME = "{Handle}"
FIXED = "decorative-tray.png"  # refused, then fixed in place
REFUSED = "wool-area-rug.png"  # refused, stays failed: the tile culling skips
BEFORE, AFTER = FIXED, "ceramic-soap-dispenser.png"  # the rug's neighbours in the gallery
NEW_PROMPT = "Studio photo of a walnut serving tray on linen"


@dataclass(frozen=True)
class Day:
    """Where the day's files go, and the fake server the studio pays."""

    out: Path
    fake: FakeOpenAI
    home: Path
    tmp: Path


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The fake OpenAI server, refusing the tray and the rug once each (by their prompts)."""
    with FakeOpenAI(api_key=FAKE_KEY) as server:
        server.script_for("Decorative Tray", ["moderation_blocked"])
        server.script_for("Wool Area Rug", ["moderation_blocked"])
        yield server


@pytest.fixture
def day(tmp_path: Path, fake: FakeOpenAI) -> Day:
    return Day(tmp_path / "out", fake, tmp_path / "atelier-home", tmp_path)


@pytest.fixture
def studio(day: Day) -> Iterator[Studio]:
    """The studio on its own display, paying the fake server, with a driver reading its
    accessibility tree."""
    missing = missing_requirements()
    if missing:
        reason = f"the AT-SPI day test needs the Debian packages {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (scripts/setup.sh test installs them)")
        pytest.skip(reason)
    assert SHOP.is_file(), f"the Shopify export is missing: {SHOP} (set ATELIER_SHARED)"
    env = {"OPENAI_API_KEY": FAKE_KEY, "ATELIER_OPENAI_BASE_URL": day.fake.base_url}
    with Studio(day.home, day.tmp / "studio.log", env=env) as s:
        yield s


def wait_label(s: Studio, contains: str, pattern: str, timeout: float = 20) -> str:
    """The text of a label containing ``contains`` once it matches ``pattern`` (polled: the
    progress counts change as the run goes). AssertionError with the last text after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        text = s.text("label", contains, timeout=timeout)
        if re.search(pattern, text):
            return text
        assert time.monotonic() < deadline, f"{text!r} never matched {pattern!r}"
        time.sleep(0.1)


# ---- the steps -----------------------------------------------------------------------------
def all_named(s: Studio, where: str) -> None:
    """Every control on screen has a name or a label, as the screen reader gets it."""
    assert s.unnamed() == [], f"controls without a name with {where} on screen"


def open_export(s: Studio) -> None:
    """File → Open…, the path typed into the file dialog's "File name:" field, Open."""
    s.menu("File", "Open…")
    s.find("dialog", "Open spreadsheet")
    all_named(s, "the file dialog")
    s.type("File name:", str(SHOP))
    s.click("Open")
    s.text("label", f"{SHOP.name} · {ROWS} rows")


def fill_template(s: Studio) -> None:
    """The prompt and file name templates typed in; the preview shows the first row."""
    s.type("Prompt", PROMPT)
    s.type("File name", FILENAME)
    assert s.find("text", "Prompt")["value"] == PROMPT
    s.text("label", "Studio photo of Nordic Scented Candle")
    s.text("label", "→ nordic-scented-candle.png")
    all_named(s, "the spreadsheet page")


def per_product_estimate(s: Studio, out: Path) -> str:
    """The batch page: OpenAI, one image per product, an output folder; the estimate reads
    one image per product and a price. Returns the estimate's headline."""
    s.click("2 · Batch & estimate", role="page tab")
    s.choose("Provider", "OpenAI (Images API)")
    s.choose("Quality", "low")
    s.choose("Make one image per", "product")
    s.type("Output folder", str(out))
    headline = s.text("label", f"{PRODUCTS} images · $", timeout=20)
    assert re.search(r"\$\d+\.\d+", headline), headline
    all_named(s, "the batch page")
    return headline


def confirm_spend(s: Studio, images: int, action: str) -> dict[str, str]:
    """The spend question: its cost, images and model read, then its ``action`` button
    pressed. Returns what it said, by the labels' names."""
    s.find("dialog", "Confirm the cost", timeout=20)
    all_named(s, "the spend question")
    said = {k: s.read(k) for k in ("Cost (USD)", "Images", "Provider / model")}
    assert re.search(r"\$\d+\.\d+", said["Cost (USD)"]), said
    assert said["Images"].startswith(str(images)), said
    assert "gpt-image" in said["Provider / model"], said
    s.find("spin button", "Spend cap")
    s.click(action)
    s.gone("dialog", "Confirm the cost")
    return said


def start_paid(s: Studio, headline: str) -> None:
    """Start: the spend question says what the estimate said; yes."""
    s.click("Start")
    said = confirm_spend(s, PRODUCTS, "Start")
    price = re.search(r"\$\d+\.\d+", headline)
    assert price and price.group(0) in said["Cost (USD)"], (headline, said)


def read_progress(s: Studio) -> None:
    """The run ends with the tray and the rug refused, every other product done."""
    s.text("label", f"{PRODUCTS - 2} done · 2 failed", timeout=60)
    rows = {r["File"]: r for r in s.table_rows("Jobs")}
    assert len(rows) == PRODUCTS
    failed = {f for f, r in rows.items() if r["Status"] != "Done"}
    assert failed == {FIXED, REFUSED}, {f: rows[f]["Status"] for f in failed}
    assert rows[FIXED]["Prompt"] == "Studio photo of Decorative Tray"
    all_named(s, "the progress page")


def fix_refused_row(s: Studio, fake: FakeOpenAI) -> None:
    """The tray's row: its context menu, "Edit prompt and regenerate…", a new prompt, the
    spend question for one image, and the row reads Done with no other job sent."""
    sent = len(fake.requests())
    s.context_menu("Jobs", FIXED)
    assert FIXED in s.selected("Jobs", role="table")
    s.menu_choose("Edit prompt and regenerate…")
    s.find("dialog", "Edit prompt and regenerate")
    all_named(s, "the prompt editor")
    assert s.find("text", "Prompt")["value"] == "Studio photo of Decorative Tray"
    again = s.text("label", "Making it again:")
    assert re.search(r"\$\d+\.\d+", again), again
    s.type("Prompt", NEW_PROMPT)
    s.click("Regenerate")
    confirm_spend(s, 1, "Regenerate")
    s.text("label", f"{PRODUCTS - 1} done · 1 failed", timeout=30)
    row = next(r for r in s.table_rows("Jobs") if r["File"] == FIXED)
    assert (row["Status"], row["Prompt"]) == ("Done", NEW_PROMPT), row
    assert [e.prompt for e in fake.requests()[sent:]] == [NEW_PROMPT]


def cull_past_failed(s: Studio) -> None:
    """The gallery: P on the tile before the rug (the tray, fixed) picks it and moves on past
    the rug's failed tile to the next image, which X then rejects."""
    s.click("4 · Gallery", role="page tab")
    tiles = s.items("Images")
    assert len(tiles) == PRODUCTS and tiles.index(REFUSED) == tiles.index(BEFORE) + 1
    assert tiles.index(AFTER) == tiles.index(REFUSED) + 1
    s.click_item("Images", BEFORE)
    assert s.selected("Images") == [BEFORE]
    s.keys("Images", "p")
    s.text("label", f"1 picked · 0 rejected · {PRODUCTS - 2} unflagged")
    assert s.selected("Images") == [AFTER]  # the failed tile skipped
    s.keys("Images", "x")
    s.text("label", f"1 picked · 1 rejected · {PRODUCTS - 3} unflagged")
    all_named(s, "the gallery")


def export(s: Studio, target: Path) -> None:
    """Export…, the ZIP's path typed into the save dialog; the ZIP holds the pick (the tray's
    second attempt) under its job's own file name."""
    s.click("Export…")
    s.find("dialog", "Export images")
    s.type("File name:", str(target))
    s.click("Save")
    s.text("status bar", "Exported 1 image(s)", timeout=20)
    with zipfile.ZipFile(target) as z:
        assert BEFORE in z.namelist(), z.namelist()


def quit_while_running(s: Studio, day: Day) -> None:
    """Another paid run (a new prompt: nothing to reuse), slow on the server; File → Quit
    while it runs asks, "Stop and resume later" ends the studio with 0."""
    day.fake.latency_s = 15.0  # every image takes 15 s: the run is still going at the quit
    s.click("1 · Spreadsheet & template", role="page tab")
    s.type("Prompt", PROMPT + ", on oak")
    s.click("2 · Batch & estimate", role="page tab")
    s.type("Output folder", str(day.out.with_name("out-2")))
    s.text("label", f"{PRODUCTS} images · $", timeout=20)
    s.click("Start")
    confirm_spend(s, PRODUCTS, "Start")
    wait_label(s, " running · ", r"^0 done · 0 failed · [1-9]\d* running")
    s.menu("File", "Quit")
    s.find("alert", "A batch is running")  # a QMessageBox is an alert to a screen reader
    all_named(s, "the quit question")
    s.click("Stop and resume later")
    assert s.wait_exit(30) == 0


def batch_kept(home: Path) -> None:
    """The store (read-only) keeps the stopped batch resumable: paused, jobs left to make."""
    db = sqlite3.connect(f"file:{home / 'atelier.sqlite3'}?mode=ro", uri=True)
    try:
        last, status = db.execute("SELECT id, status FROM batches ORDER BY id DESC").fetchone()
        jobs = dict(
            db.execute(
                "SELECT status, COUNT(*) FROM jobs WHERE batch_id = ? GROUP BY status", (last,)
            ).fetchall()
        )
    finally:
        db.close()
    assert status == "paused", status
    assert sum(jobs.values()) == PRODUCTS and jobs.get("pending", 0) > 0, jobs


# ---- the day -------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_designers_day(studio: Studio, day: Day) -> None:
    started = time.monotonic()
    open_export(studio)
    fill_template(studio)
    headline = per_product_estimate(studio, day.out)
    start_paid(studio, headline)
    read_progress(studio)
    fix_refused_row(studio, day.fake)
    cull_past_failed(studio)
    export(studio, day.tmp / "picked.zip")
    quit_while_running(studio, day)
    batch_kept(day.home)
    assert time.monotonic() - started < 120
