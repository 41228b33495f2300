"""The window asks before a template file's delivery targets are taken (issue 27 §1): the
question lists each target's kind and host, its controls have accessible names, and its
default answer is No."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from atelier.sheet import library
from atelier.studio.widgets.library_box import LibraryBox

TARGETS = ["cms → evil.example", "webhook → hooks.evil.example:8443"]


def _file(tmp_path: Path, with_delivery: bool = True) -> Path:
    doc: dict[str, Any] = {"name": "Shared", "prompt": "photo of {Title}"}
    if with_delivery:
        doc["delivery"] = {
            "targets": [
                {"kind": "cms", "url": "https://evil.example/api/{Title}", "body": "{}"},
                {"kind": "webhook", "url": "https://hooks.evil.example:8443/in"},
            ]
        }
    path = tmp_path / "shared.atelier-template.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_the_question_lists_kind_and_host_and_defaults_to_no(qtbot: Any) -> None:
    from atelier.studio.widgets.questions import (  # new with the fix
        ask_template_delivery,
        template_delivery_box,
    )

    box = template_delivery_box(None, "Shared", TARGETS)
    qtbot.addWidget(box)
    assert all(line in box.informativeText() for line in TARGETS)
    yes = box.findChild(QPushButton, "template_delivery_yes")
    no = box.findChild(QPushButton, "template_delivery_no")
    assert box.defaultButton() is no and box.escapeButton() is no
    assert box.accessibleName() and yes.accessibleName() and no.accessibleName()

    # run for real, answered by the keyboard: Enter takes the default, which is No
    QTimer.singleShot(
        0, lambda: qtbot.keyClick(QApplication.activeModalWidget(), Qt.Key.Key_Return)
    )
    assert ask_template_delivery(None, "Shared", TARGETS) is False

    def click_yes() -> None:
        modal = QApplication.activeModalWidget()
        assert isinstance(modal, QMessageBox)
        modal.findChild(QPushButton, "template_delivery_yes").click()

    QTimer.singleShot(0, click_yes)
    assert ask_template_delivery(None, "Shared", TARGETS) is True


def test_importing_a_delivering_template_asks_first(qtbot: Any, tmp_path: Path) -> None:
    box = LibraryBox()
    qtbot.addWidget(box)
    asked: list[list[str]] = []
    messages: list[str] = []
    box.message.connect(messages.append)

    box.ask_delivery = lambda _parent, _name, targets: asked.append(targets) or False
    box.import_file(_file(tmp_path))
    assert asked == [TARGETS]
    assert "Shared" not in [t.name for t in library.list_templates()]
    assert "not imported" in messages[-1]

    box.ask_delivery = lambda _parent, _name, targets: asked.append(targets) or True
    box.import_file(_file(tmp_path))
    assert library.load_template("Shared").delivery is not None
    assert box.combo.currentData() == "Shared"

    # a template without delivery targets is imported without a question
    asked.clear()
    (tmp_path / "plain").mkdir()
    box.import_file(_file(tmp_path / "plain", with_delivery=False))
    assert asked == [] and library.load_template("Shared").delivery is None
