"""The viewer of one job's images: every version it made (← → or the buttons step through
them), what made each (prompt, negative prompt, provider and model, size, seed, cost, the
provider's request id), and what to do with it: use this version as the job's pick, copy
the prompt, edit the prompt and make the job again, reuse its settings for a new batch."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.output.versions import Change
from atelier.store import ChannelVerdict, ImageRow, JobRow
from atelier.studio import a11y
from atelier.studio.look.fit import resize_within
from atelier.studio.models.channels import ChannelRulesModel
from atelier.studio.widgets.compare import MAX_IMAGES, CompareView
from atelier.studio.widgets.numbers import SpinBox
from atelier.studio.widgets.viewer import show_in_folder


class VersionViewer(QDialog):
    """One job's versions. ``on_use(job_id, version)``, ``on_regenerate(job_id, change)`` and
    ``on_reuse(job)`` are the window's actions (``atelier.studio.actions.review``)."""

    def __init__(
        self,
        job: JobRow,
        images: list[ImageRow],
        shown: int,
        actions: tuple[Callable[[int, int], None], Callable[[int, Change], None], Callable[[JobRow], None]],
        parent: QWidget | None = None,
        verdicts_of: Callable[[int], dict[str, ChannelVerdict]] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.verdicts_of = verdicts_of
        self.job, self.images = job, images
        self.on_use, self.on_regenerate, self.on_reuse = actions
        self.versions = sorted({im.version for im in images})
        self.version = self.shown = shown if shown in self.versions else self.versions[-1]
        lay = QVBoxLayout(self)
        nav = QHBoxLayout()
        self.prev_button = QPushButton(tr("◀ Older"))
        self.next_button = QPushButton(tr("Newer ▶"))
        self.version_label = QLabel()
        self.version_label.setObjectName("version_label")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.use_button = QPushButton(tr("Use this version"))
        self.use_button.setToolTip(tr("Make it the job's pick: the file under the job's own name"))
        self.use_button.clicked.connect(lambda: self.on_use(self.job.id, self.version))
        for w in (self.prev_button, self.version_label, self.next_button):
            nav.addWidget(w)
        nav.addStretch(1)
        nav.addWidget(self.use_button)
        lay.addLayout(nav)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        lay.addWidget(scroll, 1)
        self.info = QLabel()
        self.info.setObjectName("version_info")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.info)
        lay.addWidget(self._rules_table())
        self.prompt_edit = QPlainTextEdit(job.spec.prompt)
        self.prompt_edit.setObjectName("viewer_prompt")
        a11y.name(self.prompt_edit, tr("Prompt"))
        self.prompt_edit.setMaximumHeight(70)
        lay.addWidget(self.prompt_edit)
        lay.addLayout(self._make_row())
        lay.addLayout(self._buttons())
        resize_within(self, 980, 860)
        self.show_version(self.version)

    def _rules_table(self) -> QTableView:
        """Each channel's rules for the image shown: measured value and result."""
        self.rules_model = ChannelRulesModel(self)
        table = self.rules_view = QTableView()
        table.setObjectName("channel_rules")
        a11y.name(table, tr("Channel rules"))
        table.setModel(self.rules_model)
        table.verticalHeader().hide()
        table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        table.setMinimumHeight(8 * (table.fontMetrics().height() + 6))
        table.setMaximumHeight(14 * (table.fontMetrics().height() + 6))
        table.hide()
        return table

    def _make_row(self) -> QHBoxLayout:
        """Making the job again: with the prompt above, more like this, or an edit of it."""
        row = QHBoxLayout()
        regen = QPushButton(tr("Regenerate with this prompt"))
        regen.setToolTip(
            tr("A new version: a new seed, or the same seed when the prompt was edited")
        )
        regen.clicked.connect(self._regenerate)
        self.more_spin = SpinBox()
        self.more_spin.setObjectName("more_spin")
        a11y.name(self.more_spin, tr("Images to make"))
        self.more_spin.setRange(1, 10)
        self.more_spin.setValue(4)
        more = QPushButton(tr("More like this"))
        more.setToolTip(tr("A new version with this many images of the same prompt"))
        more.clicked.connect(
            lambda: self.on_regenerate(self.job.id, Change(samples=self.more_spin.value()))
        )
        edit = QPushButton(tr("Edit this"))
        edit.setToolTip(
            tr("The shown image as the reference of an edit; the text above is the instruction")
        )
        edit.clicked.connect(
            lambda: self.on_regenerate(
                self.job.id, Change(prompt=self.prompt_edit.toPlainText(), edit=True)
            )
        )
        for w in (regen, more, self.more_spin, edit):
            row.addWidget(w)
        row.addStretch(1)
        return row

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, slot in (
            (tr("Copy prompt"), self.copy_prompt),
            (tr("Compare versions"), self.compare_versions),
            (tr("Use these settings for a new batch"), lambda: self.on_reuse(self.job)),
            (tr("Show in folder"), lambda: show_in_folder(self.current()[0].path)),
            (tr("Open in default app"), self._open_external),
        ):
            b = QPushButton(text)
            b.clicked.connect(slot)
            row.addWidget(b)
        row.addStretch(1)
        close = QPushButton(tr("Close"))
        close.clicked.connect(self.accept)
        row.addWidget(close)
        return row

    def current(self) -> list[ImageRow]:
        """The images of the version shown."""
        return [im for im in self.images if im.version == self.version]

    def show_version(self, version: int) -> None:
        """Show ``version`` of the job and what made it."""
        self.version = version
        ims = self.current()
        im = ims[0]
        pm = QPixmap(str(im.path))
        self.original_size = pm.size()
        self.image.setPixmap(
            pm.scaled(
                900,
                640,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        verdicts = self.verdicts_of(im.id) if self.verdicts_of is not None else {}
        self.rules_model.set_verdicts(verdicts)
        self.rules_view.setVisible(bool(verdicts))
        self.rules_view.resizeColumnsToContents()
        n = len(self.versions)
        pos = self.versions.index(version) + 1
        pick = tr(" · the pick") if version == self.shown else ""
        self.version_label.setText(
            tr("v{version} ({pos} of {count})").format(version=version, pos=pos, count=n) + pick
        )
        self.prev_button.setEnabled(pos > 1)
        self.next_button.setEnabled(pos < n)
        self.setWindowTitle(f"{im.path.name} — v{version}")
        spec = self.job.spec
        cost = tr("unknown") if im.cost is None else f"${im.cost:.3f}"
        review = f"{tr(im.flag)}{' ' + '★' * im.stars if im.stars else ''}"
        seed = im.seed if im.seed is not None else "—"
        # Outside the f-strings: the catalog's extractor does not look inside them.
        prompt_label, negative_label = tr("Prompt:"), tr("Negative:")
        self.info.setText(
            f"<b>{im.path.name}</b> · {pm.width()}×{pm.height()} · {im.model or '?'} · "
            + tr("seed {seed}").format(seed=seed)
            + f" · {cost} · {review}<br><b>{prompt_label}</b> {_html(im.prompt or spec.prompt)}<br>"
            + (
                f"<b>{negative_label}</b> {_html(spec.negative_prompt)}<br>"
                if spec.negative_prompt
                else ""
            )
            + tr("size {size} · quality {quality} · request id {request}").format(
                size=spec.size, quality=spec.quality, request=im.request_id or "—"
            )
        )

    def step(self, delta: int) -> None:
        """Show the older (−1) or newer (+1) version."""
        i = self.versions.index(self.version) + delta
        if 0 <= i < len(self.versions):
            self.show_version(self.versions[i])

    def compare_versions(self) -> CompareView | None:
        """The job's newest versions (up to four) side by side."""
        firsts = [next(im for im in self.images if im.version == v) for v in self.versions]
        pairs = [(im.path, f"v{im.version}") for im in firsts[-MAX_IMAGES:]]
        if len(pairs) < 2:
            return None
        view = CompareView(pairs, self)
        view.open()
        return view

    def copy_prompt(self) -> None:
        """The shown version's prompt to the clipboard."""
        im = self.current()[0]
        QGuiApplication.clipboard().setText(im.prompt or self.job.spec.prompt)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Left:
            self.step(-1)
        elif event.key() == Qt.Key.Key_Right:
            self.step(1)
        else:
            super().keyPressEvent(event)

    def _regenerate(self) -> None:
        text = self.prompt_edit.toPlainText()
        edited = text != self.job.spec.prompt
        self.on_regenerate(self.job.id, Change(prompt=text if edited else None, same_seed=edited))

    def _open_external(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.current()[0].path)))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
