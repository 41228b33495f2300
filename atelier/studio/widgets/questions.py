"""Questions the window asks before it acts on the user's files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton, QWidget

from atelier.core import paths
from atelier.core.i18n import tr
from atelier.store import Store
from atelier.store.db import StoreError, move_aside

KEEP, OVERWRITE = "keep", "overwrite"


def ask_about_user_files(parent: QWidget, paths: list[str]) -> str | None:
    """The output folder holds files Atelier did not make where this batch would write:
    ``KEEP`` (new images get new names), ``OVERWRITE``, or ``None`` (do not start)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(tr("Files in the output folder"))
    more = tr("… and {count} more").format(count=len(paths) - 5)
    shown = "\n".join(paths[:5]) + (f"\n{more}" if len(paths) > 5 else "")
    box.setText(
        tr(
            "{count} file(s) in the output folder were not made by Atelier and have the names "
            "this batch would write:"
        ).format(count=len(paths))
    )
    box.setInformativeText(shown)
    keep = box.addButton(tr("Keep mine (new names)"), QMessageBox.ButtonRole.AcceptRole)
    over = box.addButton(tr("Overwrite them"), QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    clicked = box.clickedButton()
    return KEEP if clicked is keep else OVERWRITE if clicked is over else None


def ask_move_damaged(error: StoreError) -> bool:
    """The store is damaged: may Atelier move it aside (it is kept) and start a new one?"""
    box = QMessageBox(QMessageBox.Icon.Warning, tr("Atelier's store is damaged"), str(error))
    move = box.addButton(tr("Move aside and start a new store"), QMessageBox.ButtonRole.AcceptRole)
    box.addButton(tr("Quit"), QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is move


def open_store(ask: Callable[[StoreError], bool] = ask_move_damaged) -> Store:
    """The store of ``ATELIER_HOME``. A damaged one is moved aside (never deleted) and a new
    one made only when ``ask`` says yes.

    Raises:
        StoreError: the store cannot be used, or the user kept the damaged one.
    """
    path = paths.store_path()
    try:
        return Store(path)
    except StoreError as e:
        if not (e.damaged and ask(e)):
            raise
        move_aside(path)
        return Store(path)


def ask_export_shown(parent: QWidget, count: int) -> bool:
    """Nothing is picked: export the ``count`` images the gallery shows instead? Asked before
    the file dialog, so the designer knows what the ZIP will hold."""
    box = QMessageBox(parent)
    box.setObjectName("export_shown_box")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(tr("Export images"))
    box.setText(
        tr("No image is picked. Export the {count} image(s) the gallery shows?").format(count=count)
    )
    box.setInformativeText(tr("Pick images with P to export only those."))
    go = box.addButton(tr("Export shown"), QMessageBox.ButtonRole.AcceptRole)
    go.setObjectName("export_shown_yes")
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(go)
    box.exec()
    return box.clickedButton() is go


def ask_export_path(parent: QWidget, suggested: str) -> Path | None:
    """Where the export ZIP goes (its contact sheet is written beside it as a PDF);
    ``suggested`` is a full path, so the dialog opens in its folder (the batch's)."""
    chosen, _ = QFileDialog.getSaveFileName(
        parent, tr("Export images"), suggested, tr("ZIP (*.zip)")
    )
    return Path(chosen) if chosen else None


def template_delivery_box(parent: QWidget | None, name: str, targets: list[str]) -> QMessageBox:
    """The question before a template's delivery is adopted: ``targets`` (``kind → host``
    lines) would receive the user's images and use the credentials of their kind. The default
    answer (Enter, Escape, closing) is No. Built apart from ``ask_template_delivery`` so a test
    can read it without running it."""
    box = QMessageBox(parent)
    box.setObjectName("template_delivery_box")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(tr("Template delivery"))
    box.setText(
        tr(
            "The template “{name}” delivers images to these targets, which would use your "
            "stored credentials of their kind:"
        ).format(name=name)
    )
    box.setInformativeText("\n".join(targets))
    box.setAccessibleName(tr("Accept the template's delivery targets?"))
    box.setAccessibleDescription("\n".join(targets))
    yes = box.addButton(tr("Accept these targets"), QMessageBox.ButtonRole.YesRole)
    yes.setObjectName("template_delivery_yes")
    yes.setAccessibleName(tr("Accept these delivery targets and import"))
    no = box.addButton(tr("Don't import"), QMessageBox.ButtonRole.NoRole)
    no.setObjectName("template_delivery_no")
    no.setAccessibleName(tr("Do not import the template"))
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    return box


def ask_template_delivery(parent: QWidget | None, name: str, targets: list[str]) -> bool:
    """Whether the user accepts the delivery ``targets`` of the template ``name`` (see
    ``template_delivery_box``); anything but the yes button is No."""
    box = template_delivery_box(parent, name, targets)
    box.exec()
    return box.clickedButton() is box.findChild(QPushButton, "template_delivery_yes")


def quit_running_box(parent: QWidget | None, name: str) -> QMessageBox:
    """The question when the window is closed while batch ``name`` runs: stop it (it is
    offered again at the next start, its spreadsheet reopened) or keep waiting, the default
    answer (Enter, Escape, closing). Built apart from ``ask_quit_running`` so a test can
    read it without running it."""
    box = QMessageBox(parent)
    box.setObjectName("quit_running_box")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(tr("A batch is running"))
    box.setText(tr("“{name}” is still running. Quit anyway?").format(name=name))
    box.setInformativeText(
        tr(
            "Stopping keeps every finished image; the batch is offered at the next start and "
            "resuming requests only the rest."
        )
    )
    box.setAccessibleName(tr("A batch is running"))
    stop = box.addButton(tr("Stop and resume later"), QMessageBox.ButtonRole.DestructiveRole)
    stop.setObjectName("quit_stop")
    stop.setAccessibleName(tr("Stop and resume later"))
    wait = box.addButton(tr("Keep waiting"), QMessageBox.ButtonRole.RejectRole)
    wait.setObjectName("quit_wait")
    wait.setAccessibleName(tr("Keep waiting"))
    box.setDefaultButton(wait)
    box.setEscapeButton(wait)
    return box


def ask_quit_running(parent: QWidget | None, name: str) -> bool:
    """Whether to stop the running batch ``name`` and quit (see ``quit_running_box``)."""
    box = quit_running_box(parent, name)
    box.exec()
    return box.clickedButton() is box.findChild(QPushButton, "quit_stop")
