"""The batch page's settings as plain values (``BatchForm``), and its switches' widgets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox

from atelier.core.i18n import tr
from atelier.core.models import JobDefaults
from atelier.delivery.forms import DeliveryForm
from atelier.engine.controller import window_estimate
from atelier.pricing.estimate import Estimate
from atelier.pricing.table import PriceTable
from atelier.sheet.plan import Plan
from atelier.store import Store
from atelier.studio import a11y
from atelier.studio.widgets.numbers import SpinBox


@dataclass(frozen=True)
class BatchForm:
    """What the page holds, read on the GUI thread as plain values for background work.

    Attributes:
        budget_usd: the spend cap (``None``: no cap); workflow: ComfyUI's workflow file or
            ``None``; output_dir: as typed (``~`` expanded); delivery: the Deliver section.
    """

    provider: str
    model: str
    defaults: JobDefaults
    concurrency: int
    budget_usd: float | None
    workflow: Path | None
    output_dir: Path
    delivery: DeliveryForm = field(default_factory=DeliveryForm)
    reuse: bool = True
    economy: bool = False
    qa_retry: int = 0
    """How often an image the quality check flags is made again (0: never)."""
    channels: tuple[str, ...] = ()
    """The channels the batch's images are judged against (``atelier.output.channels``)."""

    def run_args(self) -> dict[str, Any]:
        """The keyword arguments of ``atelier.engine.controller.sheet_draft``."""
        return {
            "provider": self.provider,
            "model": self.model,
            "concurrency": self.concurrency,
            "budget_usd": self.budget_usd,
            "workflow": self.workflow,
            "output_dir": self.output_dir,
            "delivery": self.delivery,
            "reuse": self.reuse,
            "economy": self.economy,
            "qa_retry": self.qa_retry,
            "channels": self.channels,
        }

    def estimate(self, plan: Plan, prices: PriceTable, store: Store | None) -> Estimate:
        """Any thread: the estimate of ``plan`` with these settings (reuse, economy)."""
        return window_estimate(
            plan,
            prices,
            self.provider,
            self.model,
            self.workflow,
            self.reuse,
            store,
            self.economy,
        )


def _switch(name: str, text: str, tip: str, changed: Callable[[], None]) -> QCheckBox:
    check = QCheckBox(text)
    check.setObjectName(name)
    check.setToolTip(tip)
    check.toggled.connect(changed)
    return check


def new_images_check(changed: Callable[[], None]) -> QCheckBox:
    """The "Always make new images" switch (reuse off)."""
    return _switch(
        "new_images_check",
        tr("Always make new images"),
        tr(
            "Off: an image an identical request already made (in this batch or an earlier "
            "one) is copied at $0. On: every image is made and paid, for variety."
        ),
        changed,
    )


def qa_retry_spin() -> SpinBox:
    """The "Re-make flagged images" count (``RunSettings.qa_retry``): 0 reads "never"."""
    spin = SpinBox()
    spin.setObjectName("qa_retry_spin")
    spin.setRange(0, 10)
    spin.setSpecialValueText(tr("never"))
    spin.setSuffix(tr(" time(s)"))
    a11y.name(spin, tr("Re-make flagged images"))
    spin.setToolTip(
        tr(
            "An image the quality check flags when it is saved (blank, black, near-uniform, "
            "wrong size or aspect, near-duplicate) is made again up to this many times, each "
            "re-make paid and counted, never past the spend cap. Never: it is only flagged."
        )
    )
    return spin


def economy_check(changed: Callable[[], None]) -> QCheckBox:
    """The "Economy" switch: the batch goes through the provider's batch API."""
    return _switch(
        "economy_check",
        tr("Economy: batch price, results within 24 h"),
        tr(
            "OpenAI and Gemini make the images through their batch APIs at their batch discount "
            "(Settings → Prices lists it, dated), within a day; the estimate shows the economy "
            "price. You can quit meanwhile: the results are collected when you open the batch again."
        ),
        changed,
    )
