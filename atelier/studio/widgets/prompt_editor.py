"""Fixing a refused row where it failed: the job's prompt and negative prompt to edit, why it
failed, and what making it again costs; OK makes the job again with the edited prompt as its
next attempt (``atelier.studio.actions.review.ReviewActions.edit_prompt``)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.output.versions import Change
from atelier.store import JobRow


class PromptEditor(QDialog):
    """The prompt of one job that made no image, to edit before it is made again.

    Args:
        job: the job (its spec holds the prompt and negative prompt shown).
        cost: what making it again costs, as ``Estimate.describe`` words it ("1 images · $0.040").
    """

    def __init__(self, job: JobRow, cost: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.setObjectName("prompt_editor")
        self.setWindowTitle(tr("Edit prompt and regenerate"))
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        name = job.spec.output_path.rsplit("/", 1)[-1]
        if job.error:
            why = QLabel(tr("{name} failed: {reason}").format(name=name, reason=job.error))
        else:
            why = QLabel(tr("{name} made no image.").format(name=name))
        why.setObjectName("prompt_editor_reason")
        why.setWordWrap(True)
        lay.addWidget(why)
        form = QFormLayout()
        self.prompt_edit = QPlainTextEdit(job.spec.prompt)
        self.prompt_edit.setObjectName("prompt_editor_prompt")
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setMinimumHeight(90)
        prompt_label = QLabel(tr("Prompt"))
        prompt_label.setBuddy(self.prompt_edit)
        self.prompt_edit.setAccessibleName(tr("Prompt"))
        form.addRow(prompt_label, self.prompt_edit)
        self.negative_edit = QLineEdit(job.spec.negative_prompt)
        self.negative_edit.setObjectName("prompt_editor_negative")
        negative_label = QLabel(tr("Negative prompt"))
        negative_label.setBuddy(self.negative_edit)
        self.negative_edit.setAccessibleName(tr("Negative prompt"))
        form.addRow(negative_label, self.negative_edit)
        lay.addLayout(form)
        self.cost_label = QLabel(tr("Making it again: {cost}").format(cost=cost))
        self.cost_label.setObjectName("prompt_editor_cost")
        self.cost_label.setWordWrap(True)
        lay.addWidget(self.cost_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(tr("Regenerate…"))
        ok.setObjectName("prompt_editor_ok")
        ok.setAccessibleName(tr("Regenerate"))
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.prompt_edit.textChanged.connect(
            lambda: ok.setEnabled(bool(self.prompt_edit.toPlainText().strip()))
        )
        lay.addWidget(self.buttons)

    def change(self) -> Change:
        """The edited prompt and negative prompt as the job's next attempt (its seed kept, so
        only the words change)."""
        return Change(
            prompt=self.prompt_edit.toPlainText().strip(),
            negative_prompt=self.negative_edit.text().strip(),
            same_seed=True,
        )

    def _accept(self) -> None:
        if self.prompt_edit.toPlainText().strip():
            self.accept()
