"""The Settings page: the default provider, per provider its key, endpoint and Test connection,
and the prices the estimates use (read-only, with Import for a file of prices or models)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from atelier.core import paths
from atelier.core.errors import AtelierError, ProviderError
from atelier.core.i18n import LANGUAGES, tr
from atelier.core.secrets import get_key, keep_key_for_session, keyring_status, set_key
from atelier.core.settings import Settings
from atelier.pricing.catalogue_list import price_lines
from atelier.pricing.imports import import_file
from atelier.pricing.table import PRICES_FILE, PriceTable, user_prices_path
from atelier.providers import catalogue
from atelier.providers.registry import PROVIDERS, create_provider
from atelier.studio import a11y
from atelier.studio.look import theme
from atelier.studio.models.prices import PriceListModel


class ProviderListModel(QAbstractListModel):
    """The providers beside the Settings stack: title, and a ✓ when a key is found."""

    def __init__(self, names: list[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.names = names
        self._titles = []
        for name in names:
            caps = PROVIDERS[name].capabilities
            found = get_key(name) if caps.key_env_var else None
            self._titles.append(caps.title + (" ✓" if found is not None and found.key else ""))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.names)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if index.isValid() and role == Qt.ItemDataRole.DisplayRole:
            return self._titles[index.row()]
        return None


class ProviderPanel(QGroupBox):
    """Key, endpoint and "Test connection" for one provider."""

    def __init__(self, name: str, settings: Settings, parent: QWidget | None = None) -> None:
        caps = PROVIDERS[name].capabilities
        super().__init__(caps.title, parent)
        self.name, self.settings = name, settings
        form = QFormLayout(self)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setObjectName(f"key_{name}")
        found = get_key(name)
        self.key_edit.setPlaceholderText(
            {
                "keyring": tr("a key is stored in the system keyring"),
                "session": tr("a key is kept until Atelier quits"),
                "env": tr("using {variable} from the environment").format(
                    variable=caps.key_env_var
                ),
                "none": tr("paste your API key"),
            }[found.source]
        )
        self.url_edit = QLineEdit(settings.base_urls.get(name, ""))
        self.url_edit.setObjectName(f"url_{name}")
        self.url_edit.setPlaceholderText(caps.default_base_url)
        self.test_button = QPushButton(tr("Test connection"))
        self.test_button.setObjectName(f"test_{name}")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setObjectName(f"result_{name}")
        self.test_button.clicked.connect(self._test_clicked)
        if caps.key_env_var:
            label = tr(caps.key_label)
            form.addRow(label[:1].upper() + label[1:], self.key_edit)
        else:
            self.key_edit.hide()
        form.addRow(tr("Endpoint"), self.url_edit)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.result, 1)
        form.addRow(row)
        self._task: asyncio.Task[None] | None = None
        self.unsaved_key = ""
        """The key the keyring refused at the last Save ("" when none), for "Keep for this
        session only"."""

    def _test_clicked(self) -> None:
        self.result.setText(tr("Testing…"))
        self._task = asyncio.ensure_future(self.test_connection())

    async def test_connection(self) -> str:
        """Try the typed (or stored) key against the typed (or configured) endpoint."""
        key = self.key_edit.text().strip() or get_key(self.name).key
        url = self.url_edit.text().strip() or self.settings.base_url(self.name)
        provider = create_provider(self.name, api_key=key, base_url=url)
        try:
            text = await provider.test_connection()
            theme.styled(self.result, "color: {ok}")
        except ProviderError as e:
            text = e.message
            theme.styled(self.result, "color: {error}")
        finally:
            await provider.aclose()
        self.result.setText(text)
        return text

    def apply(self) -> str | None:
        """Save the endpoint to settings and the key to the keyring; returns a problem, if any."""
        url = self.url_edit.text().strip()
        if url:
            self.settings.base_urls[self.name] = url
        else:
            self.settings.base_urls.pop(self.name, None)
        key = self.key_edit.text().strip()
        self.unsaved_key = ""
        if key:
            try:
                set_key(self.name, key)
            except Exception as e:  # keyring backends raise their own types
                self.unsaved_key = key
                return tr("Could not store the key in the keyring ({error}). {advice}").format(
                    error=type(e).__name__, advice=keyring_status() or ""
                )
        return None


_PRICE_COLUMN_PX = 260


class SettingsDialog(QDialog):
    """Settings: the defaults, the team queue, the providers (keys, endpoints) and the prices.

    Signals:
        prices_imported: a file of prices or models was imported (the window then takes the
            prices in force, ``PriceTable.reload``).
    """

    prices_imported = Signal()

    def __init__(
        self, settings: Settings, parent: QWidget | None = None, prices: PriceTable | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Settings"))
        self.setMinimumWidth(820)
        self.setMinimumHeight(380)
        self.settings = settings
        layout = QVBoxLayout(self)
        status = keyring_status()
        note = QLabel(status or tr("API keys are kept in the system keyring, never in a file."))
        note.setWordWrap(True)
        note.setObjectName("keyring_note")
        if status:
            theme.styled(note, "color: {caution}")
        layout.addWidget(note)
        form = QFormLayout()
        self.default_provider = QComboBox()
        self.default_provider.addItem(tr("Automatic (OpenAI with a key, else Draft)"), None)
        for name, cls in PROVIDERS.items():
            self.default_provider.addItem(cls.capabilities.title, name)
        i = self.default_provider.findData(settings.default_provider)
        self.default_provider.setCurrentIndex(max(0, i))
        form.addRow(tr("New batches use"), self.default_provider)
        self.language = QComboBox()
        self.language.setObjectName("language_combo")
        self.language.addItem(tr("As the system"), None)
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        form.addRow(tr("Language (from the next start)"), self.language)
        layout.addLayout(form)
        layout.addWidget(self._team_box(settings))
        # Two tabs: the providers' keys and endpoints, and the prices the estimates use.
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settings_tabs")
        a11y.name(self.tabs, tr("Settings sections"))
        self.tabs.addTab(self._providers_tab(settings), tr("Providers"))
        self.tabs.addTab(self._prices_tab(prices), tr("Prices"))
        layout.addWidget(self.tabs, 1)
        layout.addLayout(self._error_row())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _providers_tab(self, settings: Settings) -> QWidget:
        """Each provider's key, endpoint and Test connection: a list beside a stack."""
        self.panels = {n: ProviderPanel(n, settings) for n in PROVIDERS if n != "draft"}
        # A list beside a stack: eleven providers do not fit one page, tabs would be cramped.
        self.provider_model = ProviderListModel(list(self.panels), self)
        self.provider_list = QListView()
        self.provider_list.setObjectName("provider_list")
        a11y.name(self.provider_list, tr("Providers"))
        self.provider_list.setMinimumWidth(300)
        self.provider_list.setMaximumWidth(320)
        self.provider_list.setModel(self.provider_model)
        self.stack = QStackedWidget()
        for panel in self.panels.values():
            self.stack.addWidget(panel)
        self.provider_list.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.stack.setCurrentIndex(current.row())
        )
        self.provider_list.setCurrentIndex(self.provider_model.index(0))
        providers = QWidget()
        row = QHBoxLayout(providers)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.provider_list)
        row.addWidget(self.stack, 1)
        return providers

    def _prices_tab(self, prices: PriceTable | None) -> QWidget:
        """The catalogue's prices, read-only (as ``atelier prices`` lists them), with how to
        update them."""
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        table, problem = self._prices_in_force(prices)
        self.prices_model = PriceListModel(price_lines(table), self)
        self.prices_view = QTableView()
        self.prices_view.setObjectName("prices_table")
        a11y.name(self.prices_view, tr("Prices"))
        self.prices_view.setModel(self.prices_model)
        self.prices_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.prices_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.prices_view.setWordWrap(False)
        self.prices_view.verticalHeader().hide()
        self.prices_view.horizontalHeader().setStretchLastSection(True)
        # No column sorted at first (the list's own order: the user's prices first); the
        # indicator is cleared before sorting is enabled, which would otherwise sort at once.
        self.prices_view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.prices_view.setSortingEnabled(True)
        self._fit_price_columns()
        box.addWidget(self.prices_view, 1)
        row = QHBoxLayout()
        how = QLabel(
            tr(
                "Prices older than 120 days say “check the provider's page”. Import adds or "
                "corrects prices, and next month's models (a prices.json list, or a TOML or "
                "JSON file of [[price]] and [[model]] tables, as atelier prices import FILE)."
            )
        )
        how.setObjectName("prices_note")
        how.setWordWrap(True)
        row.addWidget(how, 1)
        self.import_prices_button = QPushButton(tr("Import…"))
        self.import_prices_button.setObjectName("import_prices_button")
        a11y.name(self.import_prices_button, tr("Import prices or models"))
        self.import_prices_button.clicked.connect(lambda: self.import_prices())
        row.addWidget(self.import_prices_button)
        box.addLayout(row)
        self.prices_status = QLabel(problem or catalogue.user_problem() or "")
        self.prices_status.setObjectName("prices_status")
        self.prices_status.setWordWrap(True)
        box.addWidget(self.prices_status)
        self._prices_table = table
        return page

    @staticmethod
    def _prices_in_force(prices: PriceTable | None) -> tuple[PriceTable, str | None]:
        """The prices as the user's files say now: an import made by ``atelier prices import``
        while the window was open is read again here (and the window's table, shared with the
        engine, takes it). A file that cannot be read leaves the table as it was and is named."""
        catalogue.forget_user()
        try:
            overrides = user_prices_path()
            if prices is None:
                return PriceTable.load(overrides), None
            prices.reload(overrides)
        except AtelierError as e:
            return prices if prices is not None else PriceTable(), str(e)
        return prices, None

    def _fit_price_columns(self) -> None:
        """Columns fit their text up to ``_PRICE_COLUMN_PX`` each, so one long model id or
        token price does not push the source out of sight (a longer cell is elided; the whole
        line reads in ``atelier prices``)."""
        self.prices_view.resizeColumnsToContents()
        for column in range(self.prices_model.columnCount() - 1):
            if self.prices_view.columnWidth(column) > _PRICE_COLUMN_PX:
                self.prices_view.setColumnWidth(column, _PRICE_COLUMN_PX)

    def import_prices(self, path: Path | None = None) -> bool:
        """Import ``path`` (default: the file the designer picks) into ``ATELIER_HOME``, show
        what changed (or the file's problem, naming its field) below the list, and refresh it.
        Returns whether anything was imported."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, tr("Import prices or models"), "", tr("Price files (*.json *.toml)")
            )
            if not chosen:
                return False
            path = Path(chosen)
        try:
            home = paths.home()
            done = import_file(path, home)
            self._prices_table.reload(home / PRICES_FILE)
        except AtelierError as e:  # a bad file, or an Atelier folder that cannot be written
            self.prices_status.setText(str(e))
            return False
        self.prices_model.set_lines(price_lines(self._prices_table))
        header = self.prices_view.horizontalHeader()
        if header.sortIndicatorSection() >= 0:  # the list sorted as the designer left it
            self.prices_model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self._fit_price_columns()
        said = tr("{added} price(s) added, {replaced} replaced.").format(
            added=done.prices_added, replaced=done.prices_replaced
        )
        if done.models_added or done.models_replaced:
            said += " " + tr("{added} model(s) added, {replaced} replaced.").format(
                added=done.models_added, replaced=done.models_replaced
            )
        self.prices_status.setText(said)
        self.prices_imported.emit()
        return True

    def _error_row(self) -> QHBoxLayout:
        """What went wrong at Save, wrapped so it is read whole, and, when the keyring refused a
        key, the offer to keep it in memory until Atelier quits."""
        row = QHBoxLayout()
        self.error = QLabel("")
        self.error.setObjectName("settings_error")
        self.error.setWordWrap(True)  # a keyring's reason is long: never cut at the edge
        theme.styled(self.error, "color: {error}")
        row.addWidget(self.error, 1)
        self.keep_session = QPushButton(tr("Keep for this session only"))
        self.keep_session.setObjectName("keep_session_button")
        self.keep_session.setAccessibleName(tr("Keep for this session only"))
        self.keep_session.setToolTip(
            tr("The key works until Atelier quits; it is not written anywhere.")
        )
        self.keep_session.clicked.connect(self.keep_for_session)
        self.keep_session.hide()
        row.addWidget(self.keep_session, 0, Qt.AlignmentFlag.AlignTop)
        return row

    def keep_for_session(self) -> None:
        """Keep the keys the keyring refused in memory until Atelier quits, and close."""
        for panel in self.panels.values():
            if panel.unsaved_key:
                keep_key_for_session(panel.name, panel.unsaved_key)
                panel.unsaved_key = ""
        self.accept()

    def _team_box(self, settings: Settings) -> QGroupBox:
        box = QGroupBox(tr("Team queue"))
        form = QFormLayout(box)
        self.team_queue = QLineEdit(settings.team_queue)
        self.team_queue.setObjectName("team_queue_edit")
        self.team_queue.setPlaceholderText("redis://HOST:6379/0")
        self.team_queue.setToolTip(
            tr(
                "rediss:// for TLS. Its password goes in the keyring: atelier secret set redis:USER@HOST:PORT."
            )
        )
        form.addRow(tr("Address"), self.team_queue)
        self.use_team_queue = QCheckBox(tr("Start new batches on the team queue"))
        self.use_team_queue.setObjectName("use_team_queue")
        self.use_team_queue.setChecked(settings.use_team_queue)
        form.addRow(self.use_team_queue)
        return box

    def _save(self) -> None:
        problems = [p for p in (panel.apply() for panel in self.panels.values()) if p]
        self.settings.team_queue = self.team_queue.text().strip()
        self.settings.use_team_queue = self.use_team_queue.isChecked() and bool(
            self.settings.team_queue
        )
        self.settings.default_provider = self.default_provider.currentData()
        self.settings.language = self.language.currentData()
        self.settings.save()
        if problems:
            refused = any(panel.unsaved_key for panel in self.panels.values())
            if refused:
                problems.append(
                    tr(
                        "You can keep the key for this session only: it works until Atelier "
                        "quits and will not be remembered."
                    )
                )
            self.error.setText(" ".join(problems))
            self.keep_session.setVisible(refused)
            return
        self.accept()
