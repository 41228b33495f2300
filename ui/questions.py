"""Questions the window asks before it acts on the user's files."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from app import paths
from app.store import Store
from app.store.db import StoreError, move_aside

KEEP, OVERWRITE = "keep", "overwrite"


def ask_about_user_files(parent: QWidget, paths: list[str]) -> str | None:
    """The output folder holds files Atelier did not make where this batch would write:
    ``KEEP`` (new images get new names), ``OVERWRITE``, or ``None`` (do not start)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Files in the output folder")
    shown = "\n".join(paths[:5]) + (f"\n… and {len(paths) - 5} more" if len(paths) > 5 else "")
    box.setText(
        f"{len(paths)} file(s) in the output folder were not made by Atelier and have the names "
        "this batch would write:"
    )
    box.setInformativeText(shown)
    keep = box.addButton("Keep mine (new names)", QMessageBox.ButtonRole.AcceptRole)
    over = box.addButton("Overwrite them", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    clicked = box.clickedButton()
    return KEEP if clicked is keep else OVERWRITE if clicked is over else None


def ask_move_damaged(error: StoreError) -> bool:
    """The store is damaged: may Atelier move it aside (it is kept) and start a new one?"""
    box = QMessageBox(QMessageBox.Icon.Warning, "Atelier's store is damaged", str(error))
    move = box.addButton("Move aside and start a new store", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
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
