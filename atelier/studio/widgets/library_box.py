"""The template library in the window: choose a template (saved or starter) and load it into
the sheet and batch pages, save the current one under a name, import, export or delete one.
The library itself is ``atelier.sheet.library``; this box only asks and shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr
from atelier.sheet import library
from atelier.studio.widgets.questions import ask_template_delivery


def template_filter() -> str:
    """The file dialogs' filter for template files, in the language in force."""
    return tr("Atelier templates ({patterns});;All files (*)").format(
        patterns=f"*{library.SUFFIX} *.json"
    )


class LibraryBox(QGroupBox):
    """Load, save, import, export and delete named templates.

    Signals:
        loaded(object): a ``BatchTemplate`` to apply to the pages.
        save_requested(str): the user named a template to save the pages' values under.
        message(str): something to tell the user (saved, imported, or why not).
    """

    loaded = Signal(object)
    save_requested = Signal(str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(tr("Template library"), parent)
        self.setObjectName("library_box")
        lay = QVBoxLayout(self)
        self.combo = QComboBox()
        self.combo.setObjectName("library_combo")
        lay.addWidget(self.combo)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text in (
            ("load", tr("Load")),
            ("save", tr("Save as…")),
            ("import", tr("Import…")),
            ("export", tr("Export…")),
            ("delete", tr("Delete")),
        ):
            b = QPushButton(text)
            b.setObjectName(f"library_{key}")
            row.addWidget(b)
            self.buttons[key] = b
        lay.addLayout(row)
        self.buttons["load"].clicked.connect(lambda: self.load())
        self.buttons["save"].clicked.connect(self._ask_and_save)
        self.buttons["import"].clicked.connect(lambda: self.import_file())
        self.buttons["export"].clicked.connect(lambda: self.export_file())
        self.buttons["delete"].clicked.connect(lambda: self.delete())
        self.current: library.BatchTemplate | None = None
        # The question asked before a file's delivery targets are taken (tests answer it).
        self.ask_delivery: Callable[[QWidget | None, str, list[str]], bool] = ask_template_delivery
        self.refresh()

    def refresh(self, select: str | None = None) -> None:
        """List the library again (keeping or moving to ``select``)."""
        keep = select or self.combo.currentData()
        self.combo.blockSignals(True)
        self.combo.clear()
        for t in library.list_templates():
            extra = "".join(f" × {len(v)} {k}" for k, v in t.variations.items())
            self.combo.addItem(f"{tr(t.name)}{extra}", t.name)
            tip = tr(t.description) if t.description else t.prompt
            self.combo.setItemData(self.combo.count() - 1, tip, 3)
        i = self.combo.findData(keep)
        self.combo.setCurrentIndex(max(i, 0))
        self.combo.blockSignals(False)

    def load(self, name: str | None = None) -> library.BatchTemplate | None:
        """Emit the chosen (or named) template as ``loaded``."""
        try:
            t = library.load_template(name or str(self.combo.currentData()))
        except AtelierError as e:
            self.message.emit(str(e))
            return None
        self.loaded.emit(t)
        self.message.emit(tr("Template “{name}” loaded").format(name=t.name))
        return t

    def save(self, template: library.BatchTemplate) -> None:
        """Save ``template`` into the library and select it."""
        try:
            library.save_template(template)
        except AtelierError as e:
            self.message.emit(str(e))
            return
        self.refresh(template.name)
        self.message.emit(tr("Template “{name}” saved").format(name=template.name))

    def _ask_and_save(self) -> None:
        name, ok = QInputDialog.getText(
            self, tr("Save template"), tr("Name"), text=str(self.combo.currentData() or "")
        )
        if ok and name.strip():
            self.save_requested.emit(name.strip())

    def import_file(self, path: Path | None = None) -> None:
        """Import a template file (asked for when ``path`` is ``None``). A file whose delivery
        adds targets to the saved template of its name is imported only when the user says
        yes to ``ask_delivery`` (each target's kind and host; the default answer is No)."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, tr("Import template"), "", template_filter()
            )
            if not chosen:
                return
            path = Path(chosen)
        try:
            read = library.read_template(path)
            added = library.delivery_to_accept(read, library.saved_delivery(read.name))
            if added and not self.ask_delivery(self, read.name, added):
                self.message.emit(
                    tr("Template “{name}” not imported: its delivery targets were declined").format(
                        name=read.name
                    )
                )
                return
            library.save_template(read)  # the very template the user saw, not a re-read
            t = read
        except AtelierError as e:
            self.message.emit(str(e))
            return
        self.refresh(t.name)
        self.message.emit(tr("Template “{name}” imported").format(name=t.name))

    def export_file(self, path: Path | None = None) -> None:
        """Export the chosen template to a file (asked for when ``path`` is ``None``)."""
        name = str(self.combo.currentData())
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, tr("Export template"), f"{name}{library.SUFFIX}", template_filter()
            )
            if not chosen:
                return
            path = Path(chosen)
        try:
            library.export_template(name, path)
        except AtelierError as e:
            self.message.emit(str(e))
            return
        self.message.emit(tr("Template “{name}” exported to {path}").format(name=name, path=path))

    def delete(self) -> None:
        """Delete the chosen saved template (a starter of that name comes back)."""
        name = str(self.combo.currentData())
        if library.delete_template(name):
            self.message.emit(tr("Template “{name}” deleted").format(name=name))
        else:
            self.message.emit(
                tr("“{name}” is a starter: save your own under its name to change it").format(
                    name=name
                )
            )
        self.refresh()
