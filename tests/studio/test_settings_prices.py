"""Settings → Prices: the catalogue as ``atelier prices`` lists it, read-only (issue 30)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView

from atelier.core import paths
from atelier.studio.models.prices import PriceListModel
from tests.studio.test_accessible_names import Unnamed


def _rows(model: PriceListModel) -> list[list[str]]:
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def _prices_tab(qtbot: Any, window: Any) -> Any:
    """Settings opened on its Prices tab, shown."""
    dlg = window.open_settings()
    qtbot.waitExposed(dlg)
    dlg.tabs.setCurrentIndex(1)
    return dlg


def test_settings_shows_the_price_list_read_only(
    qtbot: Any, window: Any, qtmodeltester: Any
) -> None:
    dlg = _prices_tab(qtbot, window)
    assert dlg.tabs.tabText(1) == "Prices" and dlg.prices_view.isVisible()
    model = dlg.prices_model
    qtmodeltester.check(model)
    heads = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert heads == ["Provider", "Model", "Images", "Price", "As of", "Source"]
    rows = _rows(model)
    assert [
        "openai",
        "gpt-image-2",
        "high 1024x1024",
        "$0.211 per image",
        "2026-12-07",
        "https://platform.openai.com/docs/pricing (third party)",
    ] in rows
    assert not [r for r in rows if r[1] == "gpt-image-1"]  # shut down: not offered
    old = next(r for r in rows if r[1] == "gpt-image-1-mini")
    assert old[4] == "2026-08 (check the provider's page)"
    mini = rows.index(old)
    assert model.data(model.index(mini, 0), Qt.ItemDataRole.ToolTipRole) == "deprecated by OpenAI"
    assert dlg.prices_view.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    unnamed = Unnamed()
    unnamed.walk(dlg, "Settings, Prices")
    assert not unnamed.found, unnamed.found
    dlg.reject()


def test_a_users_imported_price_is_listed_first(qtbot: Any, window: Any) -> None:
    entry = {"provider": "bfl", "model": "flux-2-pro", "usd_per_image": 0.031}
    entry |= {"as_of": "2026-12-05", "source": "my invoice", "source_kind": "user"}
    (paths.home() / "prices.json").write_text(json.dumps([entry]), encoding="utf-8")
    from atelier.studio.pages.settings import SettingsDialog

    dlg = SettingsDialog(window.settings, window)  # no table given: read from ATELIER_HOME
    qtbot.addWidget(dlg)
    first = _rows(dlg.prices_model)[0]
    assert first == ["bfl", "flux-2-pro", "any", "$0.031 per image", "2026-12-05", "my invoice"]


def test_import_in_settings_adds_a_model_the_window_and_engine_then_price(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    from tests.cli.test_prices_models import NEXT_MONTH

    dlg = _prices_tab(qtbot, window)
    assert dlg.import_prices_button.accessibleName() == "Import prices or models"
    bad = tmp_path / "bad.toml"
    bad.write_text(NEXT_MONTH.replace('provider = "openai"', 'provider = "nobody"', 1), "utf-8")
    rows = _rows(dlg.prices_model)
    assert not dlg.import_prices(bad)
    assert str(bad) in dlg.prices_status.text() and "model[0].provider" in dlg.prices_status.text()
    assert _rows(dlg.prices_model) == rows and not (paths.home() / "catalogue.json").exists()
    assert window.prices.lookup("openai", "gpt-image-2.7", "xhigh", "1024x1024") is None

    good = tmp_path / "next.toml"
    good.write_text(NEXT_MONTH, "utf-8")
    assert dlg.import_prices(good)
    assert dlg.prices_status.text() == "1 price(s) added, 0 replaced. 1 model(s) added, 0 replaced."
    listed = [r for r in _rows(dlg.prices_model) if r[1] == "gpt-image-2.7"]
    assert ["openai", "gpt-image-2.7", "xhigh 1024x1024", "$0.31 per image"] in [
        r[:4] for r in listed
    ]
    # A click on "Model" brings a model's prices together (a stable sort: the user's first).
    dlg.prices_view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    models = [r[1] for r in _rows(dlg.prices_model)]
    at = [i for i, m in enumerate(models) if m == "gpt-image-2.7"]
    assert len(at) == 3 and at == list(range(at[0], at[0] + 3)), at
    assert models == sorted(models, key=str.casefold)
    assert window.prices is window.engine.prices  # one table: the estimate's, the engine's
    found = window.prices.lookup("openai", "gpt-image-2.7", "low", "1024x1024")
    assert found is not None and found.usd_per_image == 0.007
    # The batch page offers the imported model (its list is the provider's, read live).
    batch = window.batch
    batch.provider_combo.setCurrentIndex(batch.provider_combo.findData("openai"))
    assert batch.model_combo.findData("gpt-image-2.7") >= 0
    dlg.reject()


def test_the_batch_page_offers_complexity_for_a_model_that_takes_it(window: Any) -> None:
    batch = window.batch
    batch.provider_combo.setCurrentIndex(batch.provider_combo.findData("openai"))
    batch.model_combo.setCurrentIndex(batch.model_combo.findData("gpt-image-2.6-flare"))
    combo = batch.complexity_combo
    assert combo.isVisibleTo(batch) and combo.accessibleName() == "Complexity"
    assert [combo.itemData(i) for i in range(combo.count())] == [None, "low", "medium", "high"]
    assert batch.form().defaults.complexity is None  # the model's own default
    combo.setCurrentIndex(combo.findData("high"))
    assert batch.form().defaults.complexity == "high"
    batch.model_combo.setCurrentIndex(batch.model_combo.findData("gpt-image-2.6-sunburst"))
    assert batch.form().defaults.complexity == "high"  # kept across models that take it
    batch.model_combo.setCurrentIndex(batch.model_combo.findData("gpt-image-2"))
    assert not combo.isVisibleTo(batch) and batch.form().defaults.complexity is None


def test_settings_reads_an_import_made_by_the_command_line_meanwhile(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    """``atelier prices import`` in another process while the window is open: Settings reads
    the user's files again when it opens, and the window's (and engine's) table takes them."""
    import io
    import os

    from atelier.cli.main import run_command
    from atelier.providers import catalogue
    from tests.cli.test_prices_models import NEXT_MONTH

    mine = tmp_path / "next.toml"
    mine.write_text(NEXT_MONTH, "utf-8")
    assert run_command(["prices", "import", str(mine)], io.StringIO(), io.StringIO()) == 0
    # This process as another process's import leaves it: its catalogue and table as before.
    catalogue._current[os.environ["ATELIER_HOME"]] = (catalogue.builtin(), None)
    window.prices.reload(None)
    assert window.prices.lookup("openai", "gpt-image-2.7", "low", "1024x1024") is None
    dlg = _prices_tab(qtbot, window)
    assert [r for r in _rows(dlg.prices_model) if r[1] == "gpt-image-2.7"]
    found = window.prices.lookup("openai", "gpt-image-2.7", "low", "1024x1024")
    assert found is not None and found.usd_per_image == 0.007
    dlg.reject()
