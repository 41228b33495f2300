"""What the gallery's review actions do: store a culling key's flag or stars, regenerate
(after showing what it costs), export the chosen images, and the viewer's version choice.
The rules are ``atelier.engine.controller``'s and ``atelier.output.versions``'; this wires them to the window."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr
from atelier.core.models import JobDefaults
from atelier.core.status import JobStatus
from atelier.engine import controller
from atelier.output import handoff
from atelier.output.versions import Change, choose_version
from atelier.store import JobRow
from atelier.studio.actions import questions
from atelier.studio.widgets.prompt_editor import PromptEditor
from atelier.studio.widgets.version_viewer import VersionViewer

if TYPE_CHECKING:
    from atelier.studio.main_window import MainWindow


class ReviewActions(QObject):
    """The gallery's review, regenerate and export, for ``win``'s open batch.

    ``ask_export_path`` is the question asked (tests replace it); what is paid is asked by
    the window's one spend question (``SpendActions.confirm_spend``).
    """

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.ask_export_path = questions.ask_export_path
        self.ask_export_shown = questions.ask_export_shown
        g = win.gallery
        g.review_requested.connect(self.review)
        g.regenerate_requested.connect(self.regenerate)
        g.export_requested.connect(self.export)
        g.viewer_factory = self.open_viewer
        win.progress.edit_prompt_requested.connect(self.edit_prompt)

    def review(self, image_ids: list[int], flag: str | None, stars: int | None) -> None:
        """Store and show a flag and/or stars for these images."""
        w = self.win
        n = controller.review_images(w.store, image_ids, flag=flag, stars=stars)
        w.gallery.gallery_model.set_review(w.gallery.source_rows(set(image_ids)), flag, stars)
        what = tr(flag) if flag is not None else f"{stars}★"
        w.statusBar().showMessage(tr("{count} image(s) {what}").format(count=n, what=what), 3000)
        if flag == "picked" and n and w.batch_id is not None:
            w.deliveries.send(w.batch_id)  # after review, a pick is what delivers

    def retry_selected(self, on_gallery: bool) -> None:
        """ "Retry selected": the jobs selected in the gallery (``on_gallery``) or the table."""
        g, p = self.win.gallery, self.win.progress
        self.retry(g.selected_job_ids() if on_gallery else p.selected_job_ids())

    def retry_all_failed(self) -> None:
        """ "Retry all failed" of the open batch."""
        if self.win.batch_id is not None:
            self.retry(self.win.store.failed_job_ids(self.win.batch_id))

    def retry(self, job_ids: list[int]) -> None:
        """Failed/cancelled jobs go back to pending (same jobs, new attempts) and run; finished
        ones among them are offered for regeneration (a retry cannot make them again)."""
        w = self.win
        if w.batch_id is None or not job_ids:
            w.statusBar().showMessage(
                tr("Nothing to retry: select failed or cancelled jobs."), 5000
            )
            return
        again = [
            j for j in job_ids if w.store.job(j).status in (JobStatus.FAILED, JobStatus.CANCELLED)
        ]
        if again:
            est = controller.price_jobs(w.store, w.batch.prices, w.batch_id, again)
            if not w.spend_more(w.batch_id, tr("Retry"), est):
                return
        reset = controller.retry_jobs(w.store, w.engine, w.host.call, w.batch_id, again)
        finished = [j for j in job_ids if j not in reset and w.store.job(j).status == "completed"]
        if finished:
            self.regenerate(finished)
        if reset:
            w.watch_prices(w.batch_id, reset)
            w.statusBar().showMessage(tr("Retrying {count} job(s).").format(count=len(reset)), 5000)
            if not w.host.is_running(w.batch_id):
                w.run_batch(w.batch_id)

    def regenerate(self, job_ids: list[int], change: Change | None = None) -> list[int]:
        """Regenerate these jobs (none: every rejected one) once the cost is confirmed; the
        batch runs if it is not running. Returns the jobs put back."""
        w = self.win
        if w.batch_id is None:
            return []
        ids = job_ids or controller.rejected_jobs(w.store, w.batch_id)
        if not ids:
            w.statusBar().showMessage(
                tr("Nothing to regenerate: reject images with X first."), 5000
            )
            return []
        c = change or Change()
        est = controller.price_jobs(w.store, w.batch.prices, w.batch_id, ids, c.samples)
        action = tr("Make more") if c.samples else tr("Regenerate")
        if not w.spend_more(w.batch_id, action, est):
            return []
        try:
            done = controller.regenerate_jobs(w.store, w.engine, w.host.call, w.batch_id, ids, c)
        except AtelierError as e:
            w.report_error(tr("Not regenerated. {reason}").format(reason=e))
            return []
        w.statusBar().showMessage(
            tr("Regenerating {count} job(s): {cost}").format(
                count=len(done.job_ids), cost=est.describe()
            ),
            5000,
        )
        if c.prompt is not None:
            # The job is made with the edited prompt now: its row says so (read back from the
            # store, which holds what the engine will send).
            for jid in done.job_ids:
                w.progress.jobs_model.set_prompt(jid, w.store.job(jid).spec.prompt)
        if done.job_ids:
            w.watch_prices(w.batch_id, done.job_ids)
        if done.job_ids and not w.host.is_running(w.batch_id):
            w.run_batch(w.batch_id, show_progress=False)
        return done.job_ids

    def open_viewer(self, job_id: int) -> VersionViewer | None:
        """The viewer of a job's versions (``None`` when it has no image yet)."""
        w = self.win
        images = w.store.all_versions(job_id)
        if not images:
            return None
        job = w.store.job(job_id)
        shown = w.store.shown_images(job_id)[0].version
        viewer = VersionViewer(
            job, images, shown, (self.use_version, self._regenerate_one, self.reuse), w
        )
        viewer.open()
        return viewer

    def edit_prompt(self, job_id: int) -> QDialog | None:
        """ "Edit prompt and regenerate…" on a row: a job with an image opens the viewer of its
        versions (its prompt is edited there); one without (refused, failed, cancelled) opens
        the prompt editor with its prompt, negative prompt and cost, and OK makes it again
        with the edited prompt as its next attempt, through ``regenerate``."""
        w = self.win
        if w.batch_id is None:
            return None
        if w.store.all_versions(job_id):
            return self.open_viewer(job_id)
        job = w.store.job(job_id)
        est = controller.price_jobs(w.store, w.batch.prices, w.batch_id, [job_id])
        editor = PromptEditor(job, est.describe(), w)
        editor.accepted.connect(lambda: self._regenerate_one(job_id, editor.change()))
        editor.open()
        return editor

    def _regenerate_one(self, job_id: int, change: Change) -> None:
        self.regenerate([job_id], change)

    def reuse(self, job: JobRow) -> None:
        """A new batch starts from this job's prompt and image settings."""
        w = self.win
        w.sheet.prompt_edit.setPlainText(job.spec.prompt)
        w.sheet.negative_edit.setText(job.spec.negative_prompt)
        w.batch.apply_defaults(
            JobDefaults(
                size=job.spec.size,
                quality=job.spec.quality,
                output_format=job.spec.output_format,
                transparent_background=job.spec.transparent_background,
                sample_count=job.spec.sample_count,
                seed=job.spec.seed,
            )
        )
        w.tabs.setCurrentIndex(0)
        w.statusBar().showMessage(
            tr("The prompt and settings are in the editor for a new batch"), 5000
        )

    def use_version(self, job_id: int, version: int) -> None:
        """Make ``version`` the job's pick (the file under its name) and show it."""
        w = self.win
        try:
            choose_version(w.store, job_id, version)
        except AtelierError as e:
            w.report_error(str(e))
            return
        if w.batch_id is not None:
            w.open_batch(w.batch_id)

    def export(self, path: Path | None = None) -> asyncio.Future[None] | None:
        """Export the picked images (with a flag filter set, the images it shows; with nothing
        picked, what the gallery shows, once the designer agrees) to a ZIP with its manifest,
        and a contact sheet beside it. The file dialog opens in the batch's output folder."""
        w = self.win
        if w.batch_id is None:
            return None
        g = w.gallery
        flag = g.flag_filter.currentData()
        stars = g.stars_filter.currentData() or 0
        what = flag or "picked"
        if flag:
            sel = handoff.Selection(frozenset({flag}), stars)
        elif g.gallery_model.counts()["picked"]:
            sel = handoff.Selection(frozenset({"picked"}), stars)
        else:
            shown = g.shown_image_ids()
            if not shown:
                w.statusBar().showMessage(
                    tr("Nothing to export: the gallery shows no image."), 5000
                )
                return None
            if not self.ask_export_shown(w, len(shown)):
                return None
            sel, what = handoff.Selection(image_ids=frozenset(shown)), "shown"
        name = f"batch-{w.batch_id}-{what}.zip"
        target = path or self.ask_export_path(w, str(w.store.batch(w.batch_id).output_dir / name))
        if target is None:
            return None
        return w.spawn(self._export(w.batch_id, sel, target))

    async def _export(self, batch_id: int, sel: handoff.Selection, target: Path) -> None:
        w = self.win
        try:
            images = await asyncio.to_thread(handoff.chosen, w.store, batch_id, sel)
            n = await asyncio.to_thread(handoff.export_zip, w.store, batch_id, images, target)
            pdf = target.with_suffix(".pdf")
            await asyncio.to_thread(
                handoff.contact_sheet, images, pdf, w.store.batch(batch_id).name
            )
        except AtelierError as e:
            w.report_error(tr("Not exported. {reason}").format(reason=e))
            return
        w.statusBar().showMessage(
            tr("Exported {count} image(s) to {zip} and {pdf}").format(
                count=n, zip=target, pdf=pdf.name
            ),
            10_000,
        )
