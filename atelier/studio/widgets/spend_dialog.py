"""The one question before money is spent: what a run costs (USD), how many images, with which
provider and model, and the spend cap it runs under, prefilled from the estimate and its margin
(``atelier.pricing.estimate.cap_with_margin``) and changeable there. Every window action that pays (Start,
Regenerate, Make more, Retry, raising a cap) asks it through ``SpendActions.confirm_spend``."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.pricing.estimate import ESTIMATE_MARGIN, Estimate
from atelier.pricing.spend import qa_retry_note
from atelier.studio.widgets.numbers import DoubleSpinBox


@dataclass(frozen=True)
class SpendQuestion:
    """What the spend question shows.

    Attributes:
        action: the OK button's text, the action that spends ("Start", "Regenerate"…).
        estimate: what the run is expected to cost (``Estimate.to_pay_usd``, USD).
        cap_usd: the spend cap offered for this run (USD on top of ``spent_usd``; ``None``:
            no cap, when a price is unknown).
        spent_usd: what the batch has spent already (USD; 0 for a new batch).
        qa_retry: how often an image the quality check flags is made again (0: never).
    """

    action: str
    estimate: Estimate
    cap_usd: float | None
    spent_usd: float = 0.0
    qa_retry: int = 0

    def remakes_text(self) -> str:
        """The re-makes' worst case and what bounds them (empty without ``qa_retry``)."""
        return qa_retry_note(self.estimate.to_pay_usd, self.qa_retry, self.cap_usd is not None)


@dataclass(frozen=True)
class SpendAnswer:
    """A yes: the run may spend up to ``cap_usd`` (USD, ``None``: the user chose no cap)."""

    cap_usd: float | None


def _usd(amount: float) -> str:
    return f"${amount:,.3f}"


def amount_text(est: Estimate) -> str:
    """The amount a run is expected to pay, USD: ``"$45.000"``, ``"$6.600 (economy, within
    24 h)"``, ``"at least $0.200, and 5 images at an unknown price"`` or ``"unknown"``."""
    usd = est.to_pay_usd
    if usd is not None:
        if est.economy and est.economy_usd is not None:
            return tr("{usd} (economy, within 24 h)").format(usd=_usd(usd))
        return _usd(usd)
    if est.auto_range:
        low, high = est.auto_range
        return tr("unknown: {low}–{high} by quality").format(low=_usd(low), high=_usd(high))
    if est.unknown_images < est.images:
        return tr("at least {usd}, and {count} images at an unknown price").format(
            usd=_usd(est.priced_usd), count=f"{est.unknown_images:,}"
        )
    return tr("unknown")


def model_lines(est: Estimate) -> list[str]:
    """One line per provider / model of the images to make: ``"openai / gpt-image-1"`` alone,
    or with its images and list price when the run mixes several."""
    if len(est.by_model) <= 1:
        return [pair for pair, _n, _usd in est.by_model] or list(est.models)
    return [
        tr("{model}: {count} images · {usd}").format(
            model=pair, count=f"{n:,}", usd=tr("price unknown") if usd is None else _usd(usd)
        )
        for pair, n, usd in est.by_model
    ]


class SpendDialog(QDialog):
    """The spend question (built apart from ``ask_spend`` so a test can read and answer it).

    Attributes:
        amount_label, images_label, models_label: what the run costs, makes and uses;
        cap_spin: the spend cap (USD, 0 reads "no cap"); buttons: OK (``question.action``)
        and Cancel (the default answer of Escape and closing).
    """

    def __init__(self, question: SpendQuestion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spend_dialog")
        self.setWindowTitle(tr("Confirm the cost"))
        self.setAccessibleName(tr("Confirm the cost"))
        est = question.estimate
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.amount_label = self._value(form, "spend_amount", tr("Cost (USD)"), amount_text(est))
        self.amount_label.setStyleSheet("font-weight: 600")
        images = f"{est.images:,}"
        if est.reused_images:
            images = tr("{made} (and {reused} copied at $0)").format(
                made=images, reused=f"{est.reused_images:,}"
            )
        self.images_label = self._value(form, "spend_images", tr("Images"), images)
        self.models_label = self._value(
            form, "spend_models", tr("Provider / model"), "\n".join(model_lines(est))
        )
        self._more_rows(form, question)
        self.cap_spin = DoubleSpinBox()
        self.cap_spin.setObjectName("spend_cap")
        self.cap_spin.setRange(0, 1_000_000)
        self.cap_spin.setDecimals(2)
        self.cap_spin.setPrefix("$ ")
        self.cap_spin.setSpecialValueText(tr("no cap"))
        self.cap_spin.setValue(question.cap_usd or 0.0)
        cap_label = QLabel(tr("Spend cap"))
        cap_label.setBuddy(self.cap_spin)
        self.cap_spin.setAccessibleName(tr("Spend cap"))
        form.addRow(cap_label, self.cap_spin)
        lay.addLayout(form)
        # Wide enough that each "provider / model: N images · $x" line keeps to one line.
        fm = self.fontMetrics()
        longest = max((fm.horizontalAdvance(t) for t in model_lines(est)), default=0)
        label = fm.horizontalAdvance(tr("Provider / model"))
        self.setMinimumWidth(min(900, max(420, longest + label + 80)))
        self.note_label = QLabel(self._note(question))
        self.note_label.setObjectName("spend_note")
        self.note_label.setWordWrap(True)
        lay.addWidget(self.note_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton(
            question.action, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setObjectName("spend_ok")
        self.ok_button.setAccessibleName(question.action)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText(tr("Don't spend"))
        cancel.setObjectName("spend_cancel")
        cancel.setAccessibleName(tr("Don't spend"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.ok_button.setDefault(True)

    def _more_rows(self, form: QFormLayout, question: SpendQuestion) -> None:
        """What the batch spent already, and the re-makes of flagged images, when there are."""
        if question.spent_usd > 0:
            self._value(form, "spend_spent", tr("Spent so far"), _usd(question.spent_usd))
        self.remakes_label = None
        if question.qa_retry:
            self.remakes_label = self._value(
                form, "spend_remakes", tr("Re-makes"), question.remakes_text()
            )

    def _value(self, form: QFormLayout, name: str, label: str, text: str) -> QLabel:
        value = QLabel(text)
        value.setObjectName(name)
        value.setWordWrap(True)
        # Its name is its text, labelled by the row's label (the form makes it the buddy): a
        # screen reader reads "Cost (USD): $0.342", where a name of its own hid the amount.
        form.addRow(label, value)
        return value

    @staticmethod
    def _note(question: SpendQuestion) -> str:
        if question.estimate.suggested_cap_usd is None:
            return tr(
                "A price is unknown, so no cap is set: a cap would stop the run before its "
                "first image. Check the provider's prices before you go on."
            )
        margin = round(ESTIMATE_MARGIN * 100)
        if question.spent_usd > 0:
            return tr(
                "The cap is for this run, on top of what the batch has spent: the estimate "
                "plus {margin} %. If the spend would pass it, the batch pauses and offers to "
                "raise it."
            ).format(margin=margin)
        return tr(
            "The cap is the estimate plus {margin} %. If the spend would pass it, the batch "
            "pauses and offers to raise it."
        ).format(margin=margin)

    def answer(self) -> SpendAnswer:
        """The cap as set now (0: no cap)."""
        return SpendAnswer(self.cap_spin.value() or None)


def ask_spend(parent: QWidget | None, question: SpendQuestion) -> SpendAnswer | None:
    """Ask before money is spent; ``None``: the user said no."""
    dlg = SpendDialog(question, parent)
    return dlg.answer() if dlg.exec() == QDialog.DialogCode.Accepted else None
