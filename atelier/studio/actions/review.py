"""What the gallery's review actions do: store a culling key's flag or stars, regenerate
(after showing what it costs), export the chosen images, and the viewer's version choice.
The rules are ``atelier.engine.controller``'s and ``atelier.output.versions``'; this wires them to the window."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QTabWidget

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr
from atelier.core.models import JobDefaults
from atelier.core.status import JobStatus
from atelier.engine import controller
from atelier.output import handoff
from atelier.output.versions import Change, choose_version
from atelier.pricing.estimate import Estimate
from atelier.store import ChannelVerdict, JobRow
from atelier.studio.actions.deliveries import DeliveryActions
from atelier.studio.actions.shell import Runs, Shell
from atelier.studio.actions.spending import Agreed, SpendActions
from atelier.studio.pages.batch import BatchPage
from atelier.studio.pages.gallery import GalleryPage
from atelier.studio.pages.progress import ProgressPage
from atelier.studio.pages.sheet import SheetPage
from atelier.studio.widgets import questions
from atelier.studio.widgets.prompt_editor import PromptEditor
from atelier.studio.widgets.version_viewer import VersionViewer


class ReviewWindow(Shell, Runs, Protocol):
    """What review uses of the window besides the ``Shell``: the gallery and the progress
    table it acts on, the two first pages and the tabs (a job reused for a new batch),
    spending (the question before paying) and delivery (a pick delivers)."""

    gallery: GalleryPage
    progress: ProgressPage
    sheet: SheetPage
    batch: BatchPage
    tabs: QTabWidget
    spending: SpendActions
    deliveries: DeliveryActions


class ReviewActions(QObject):
    """The gallery's review, regenerate and export, for ``win``'s open batch.

    ``ask_export_path`` is the question asked (tests replace it); what is paid is asked by
    the window's one spend question (``SpendActions.confirm_spend``).
    """

    def __init__(self, win: ReviewWindow) -> None:
        super().__init__(win.window())
        self.win = win
        self.ask_export_path = questions.ask_export_path
        self.ask_export_shown = questions.ask_export_shown
        g = win.gallery
        g.review_requested.connect(self.review)
        g.regenerate_requested.connect(self.regenerate)
        g.export_requested.connect(self.export)
        g.viewer_factory = self.open_viewer
        win.progress.edit_prompt_requested.connect(self.edit_prompt)

    def review(
        self, image_ids: list[int], flag: str | None, stars: int | None
    ) -> asyncio.Future[Any] | None:
        """Show a flag and/or stars for these images at once and store them in a store op
        (a pick then delivers what it recorded). Returns the op."""
        w = self.win
        # Shown before it is stored, so a culling key moves on at once (the op is quick, and
        # ops run in order: the next key's write follows this one).
        w.gallery.gallery_model.set_review(w.gallery.source_rows(set(image_ids)), flag, stars)
        batch_id = w.batch_id

        def reviewed(n: int) -> None:
            what = tr(flag) if flag is not None else f"{stars}★"
            w.statusBar().showMessage(
                tr("{count} image(s) {what}").format(count=n, what=what), 3000
            )
            if flag == "picked" and n and batch_id is not None:
                w.deliveries.send(batch_id)  # after review, a pick is what delivers

        return w.ops.run(
            lambda: controller.review_images(w.store, image_ids, flag=flag, stars=stars), reviewed
        )

    def retry_selected(self, on_gallery: bool) -> None:
        """ "Retry selected": the jobs selected in the gallery (``on_gallery``) or the table."""
        g, p = self.win.gallery, self.win.progress
        self.retry(g.selected_job_ids() if on_gallery else p.selected_job_ids())

    def retry_all_failed(self) -> None:
        """ "Retry all failed" of the open batch."""
        if self.win.batch_id is not None:
            self.retry(self.win.store.failed_job_ids(self.win.batch_id))

    def retry(self, job_ids: list[int]) -> asyncio.Future[Any] | None:
        """Failed/cancelled jobs go back to pending (same jobs, new attempts, in a store op)
        and run; finished ones among them are offered for regeneration (a retry cannot make
        them again). Returns the op (``None``: nothing to retry, or the user said no)."""
        w = self.win
        batch_id = w.batch_id
        if batch_id is None or not job_ids:
            w.statusBar().showMessage(
                tr("Nothing to retry: select failed or cancelled jobs."), 5000
            )
            return None
        again = [
            j for j in job_ids if w.store.job(j).status in (JobStatus.FAILED, JobStatus.CANCELLED)
        ]
        yes: Agreed | None = None
        if again:
            est = controller.price_jobs(w.store, w.prices, batch_id, again)
            yes = w.spending.spend_more(batch_id, tr("Retry"), est)
            if yes is None:
                return None

        def op() -> tuple[list[int], list[int]]:  # the store-op thread
            if yes is not None:
                w.spending.store_cap(yes)
            reset = controller.retry_jobs(w.store, w.engine, w.host.call, batch_id, again)
            done = [j for j in job_ids if j not in reset and w.store.job(j).status == "completed"]
            return reset, done

        def retried(result: tuple[list[int], list[int]]) -> None:
            reset, finished = result
            if yes is not None:
                w.spending.agreed(yes)
            if finished:
                self.regenerate(finished)
            if reset:
                w.spending.watch_prices(batch_id, reset)
                w.statusBar().showMessage(
                    tr("Retrying {count} job(s).").format(count=len(reset)), 5000
                )
                if not w.host.is_running(batch_id):
                    w.run_batch(batch_id)

        return w.ops.run(op, retried)

    def regenerate(
        self, job_ids: list[int], change: Change | None = None
    ) -> asyncio.Future[Any] | None:
        """Regenerate these jobs (none: every rejected one) once the cost is confirmed, in a
        store op; the batch runs if it is not running. Returns the op, whose result is the
        jobs put back (``None`` when they could not be), or ``None`` instead of an op:
        nothing to regenerate, or the user said no."""
        w = self.win
        batch_id = w.batch_id
        if batch_id is None:
            return None
        if not job_ids:
            w.ops.drain()  # every rejected one: the X just pressed too
        ids = job_ids or controller.rejected_jobs(w.store, batch_id)
        if not ids:
            w.statusBar().showMessage(
                tr("Nothing to regenerate: reject images with X first."), 5000
            )
            return None
        c = change or Change()
        est = controller.price_jobs(w.store, w.prices, batch_id, ids, c.samples)
        action = tr("Make more") if c.samples else tr("Regenerate")
        yes = w.spending.spend_more(batch_id, action, est)
        if yes is None:
            return None

        def op() -> list[int]:  # the store-op thread
            w.spending.store_cap(yes)
            r = controller.regenerate_jobs(w.store, w.engine, w.host.call, batch_id, ids, c)
            return r.job_ids

        def failed(e: AtelierError) -> None:
            w.spending.agreed(yes)
            w.report_error(tr("Not regenerated. {reason}").format(reason=e))

        def done(job_ids: list[int]) -> None:
            w.spending.agreed(yes)
            self._regenerated(batch_id, job_ids, est, c)

        return w.ops.run(op, done, failed)

    def _regenerated(self, batch_id: int, job_ids: list[int], est: Estimate, c: Change) -> None:
        """GUI thread, after a regeneration was stored: say so, show an edited prompt in its
        rows, and run the batch."""
        w = self.win
        w.statusBar().showMessage(
            tr("Regenerating {count} job(s): {cost}").format(
                count=len(job_ids), cost=est.describe()
            ),
            5000,
        )
        if c.prompt is not None:
            # The job is made with the edited prompt now: its row says so (read back from the
            # store, which holds what the engine will send).
            for jid in job_ids:
                w.progress.jobs_model.set_prompt(jid, w.store.job(jid).spec.prompt)
        if job_ids:
            w.spending.watch_prices(batch_id, job_ids)
        if job_ids and not w.host.is_running(batch_id):
            w.run_batch(batch_id, show_progress=False)

    def open_viewer(self, job_id: int) -> VersionViewer | None:
        """The viewer of a job's versions (``None`` when it has no image yet)."""
        w = self.win
        images = w.store.all_versions(job_id)
        if not images:
            return None
        job = w.store.job(job_id)
        shown = w.store.shown_images(job_id)[0].version
        order = w.store.run_settings(job.batch_id).channels

        def verdicts_of(image_id: int) -> dict[str, ChannelVerdict]:  # a small read
            got = w.store.image_verdicts(image_id)
            return {c: got[c] for c in order if c in got}

        viewer = VersionViewer(
            job,
            images,
            shown,
            (self.use_version, self._regenerate_one, self.reuse),
            w.window(),
            verdicts_of,
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
        est = controller.price_jobs(w.store, w.prices, w.batch_id, [job_id])
        editor = PromptEditor(job, est.describe(), w.window())
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

    def use_version(self, job_id: int, version: int) -> asyncio.Future[Any] | None:
        """Make ``version`` the job's pick (the file under its name, in a store op) and show
        it. Returns the op."""
        w = self.win

        def chosen(_: object) -> None:
            if w.batch_id is not None:
                w.open_batch(w.batch_id)

        return w.ops.run(
            lambda: choose_version(w.store, job_id, version),
            chosen,
            lambda e: w.report_error(str(e)),
        )

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
            if not self.ask_export_shown(w.window(), len(shown)):
                return None
            sel, what = handoff.Selection(image_ids=frozenset(shown)), "shown"
        name = f"batch-{w.batch_id}-{what}.zip"
        target = path or self.ask_export_path(
            w.window(), str(w.store.batch(w.batch_id).output_dir / name)
        )
        if target is None:
            return None
        return w.spawn(self._export(w.batch_id, sel, target))

    async def _export(self, batch_id: int, sel: handoff.Selection, target: Path) -> None:
        w = self.win
        try:
            # On the store-op thread: after the picks and flags asked before it are stored.
            images = await w.ops.call(handoff.chosen, w.store, batch_id, sel)
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
