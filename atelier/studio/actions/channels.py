"""The window's side of a batch's channels: the gallery's marks kept up to date as images are
judged, text read on request (OCR, slow: off the GUI thread and off the store-op thread, only
the verdicts written through ``StoreOps``), and the designer's per-image overrides."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject

from atelier.core.errors import AtelierError
from atelier.core.events import ImageSaved
from atelier.core.i18n import tr
from atelier.output.channels.batch import ON_SAVE, code_of, profiles_of
from atelier.output.channels.check import check_channels
from atelier.store import ChannelVerdict
from atelier.studio.actions.shell import Shell
from atelier.studio.models.channels import short_name
from atelier.studio.pages.gallery import GalleryPage

Verdicts = dict[int, dict[str, ChannelVerdict]]

log = logging.getLogger(__name__)


class ChannelWindow(Shell, Protocol):
    """What channels use of the window besides the ``Shell``: the gallery."""

    gallery: GalleryPage


class ChannelActions(QObject):
    """Channel marks, text checks and overrides for ``win``'s open batch."""

    def __init__(self, win: ChannelWindow) -> None:
        super().__init__(win.window())
        self.win = win
        self._refreshing = False
        self._again = False
        self._saved: set[int] = set()
        g = win.gallery
        g.channel_check_requested.connect(self.check_text)
        g.channel_override_requested.connect(self.override)

    def show_batch(self, batch_id: int) -> None:
        """A batch was opened: the gallery's "fails <channel>" filters, and the images not
        judged yet (older ones, or saved while the window was closed) judged now."""
        channels = self.win.store.run_settings(batch_id).channels
        self.win.gallery.set_channels(channels)
        if channels and (missing := self._without_all_marks()):
            self.win.spawn(self._judge(batch_id, missing, ocr=False))

    def images_saved(self, images: list[ImageSaved]) -> None:
        """Images of the open batch were saved: their marks follow once the engine's
        background judge has stored them (one refresh at a time, the next one batched)."""
        batch_id = self.win.batch_id
        self._follow(batch_id, [ev.image_id for ev in images if ev.batch_id == batch_id])

    def batch_finished(self, batch_id: int) -> None:
        """The open batch's run ended: every tile still without all its marks is looked at
        once more (stored by the judge after the last refresh, or judged here), so the marks
        end complete whatever order the run's events came in."""
        if batch_id == self.win.batch_id:
            self._follow(batch_id, self._without_all_marks())

    def _without_all_marks(self) -> list[int]:
        """The gallery's images without a mark for each of the batch's channels."""
        want = set(self.win.gallery.channels)
        tiles = self.win.gallery.gallery_model.tiles
        return [t.image_id for t in tiles if t.image_id and set(t.channels) != want]

    def _follow(self, batch_id: int | None, image_ids: list[int]) -> None:
        mine = [i for i in image_ids if i]
        if not self.win.gallery.channels or not mine or batch_id is None:
            return
        self._saved.update(mine)
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        self.win.spawn(self._refresh(batch_id))

    async def _refresh(self, batch_id: int | None) -> None:
        try:
            while True:
                self._again = False
                try:
                    await asyncio.to_thread(ON_SAVE.drain, 30)
                except TimeoutError:  # a judge this slow: the images it has not done are done here
                    log.warning("the channel judge took over 30 s; judging the rest here")
                if batch_id is None or batch_id != self.win.batch_id:
                    return
                saved, self._saved = self._saved, set()
                verdicts = await asyncio.to_thread(self.win.store.verdicts, batch_id)
                self._show(verdicts)
                # One the background judge could not store (logged there) is judged here.
                if missing := sorted(i for i in saved if i not in verdicts):
                    await self._judge(batch_id, missing, ocr=False)
                if not self._again:
                    return
        finally:
            self._refreshing = False

    def _show(self, verdicts: Verdicts) -> None:
        order = self.win.gallery.channels
        self.win.gallery.gallery_model.set_verdicts(
            {i: {c: v[c] for c in order if c in v} for i, v in verdicts.items()}
        )

    def check_text(self, image_ids: list[int]) -> asyncio.Future[Any] | None:
        """Judge these images against the batch's channels with their text read (OCR)."""
        if self.win.batch_id is None:
            return None
        self.win.statusBar().showMessage(
            tr("Checking text of {count} image(s)…").format(count=len(image_ids))
        )
        return self.win.spawn(self._judge(self.win.batch_id, image_ids, ocr=True))

    async def _judge(self, batch_id: int, image_ids: list[int], ocr: bool) -> None:
        store = self.win.store
        channels = store.run_settings(batch_id).channels
        profiles = profiles_of(channels)
        for image_id in image_ids:
            try:
                path = Path(store.image(image_id).path)
            except KeyError:  # replaced meanwhile (a re-make, a regeneration): nothing to judge
                continue
            try:
                found = await asyncio.to_thread(
                    check_channels, path, profiles, code=code_of(store, image_id), use_ocr=ocr
                )
            except AtelierError as e:  # a file moved or damaged: said, the others go on
                self.win.statusBar().showMessage(str(e), 8000)
                continue
            docs = [j.as_dict() for j in found]
            await self.win.ops.call(store.set_verdicts, image_id, docs, ocr)
            if batch_id == self.win.batch_id:
                self._show({image_id: store.image_verdicts(image_id)})
        if ocr:
            self.win.statusBar().showMessage(tr("Text checked."), 5000)

    def override(self, image_ids: list[int], channel: str, on: bool) -> asyncio.Future[Any] | None:
        """Send these images to ``channel`` despite an unfixable rule (``on``), or not."""
        store = self.win.store

        def op() -> Verdicts:  # the store-op thread
            for image_id in image_ids:
                store.set_channel_override(image_id, channel, on)
            return {i: store.image_verdicts(i) for i in image_ids}

        def done(verdicts: Verdicts) -> None:
            self._show(verdicts)
            text = (
                tr("{count} image(s) go to {channel} anyway")
                if on
                else tr("{count} image(s) no longer sent to {channel} when a rule fails")
            )
            self.win.statusBar().showMessage(
                text.format(count=len(image_ids), channel=short_name(channel)), 5000
            )

        return self.win.ops.run(op, done)
