"""A batch's images and its channels: judged as they are saved (in the background, without
OCR), and exported as one rendition per channel (``channel/…``), skipping an image that fails a
rule no fix can meet unless the designer overrode it for that channel.

What is stored (``atelier.store.channels``) is each ``Judgement.as_dict()``; this module is the
one place that turns the checker's answers into store rows.
"""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from atelier.core.errors import AtelierError, InputError
from atelier.core.files import atomic_write
from atelier.core.i18n import tr
from atelier.output.channels.profiles import Profile, load_profiles
from atelier.sheet.templates import product_code
from atelier.store import ImageRow, Store

if TYPE_CHECKING:
    from atelier.output.channels.check import Judgement

# The checks and fixes (numpy, 65 ms to import) are imported where an image is judged or
# made: the engine, the delivery and every command import this module, most never judge.

log = logging.getLogger(__name__)


def channel_list(text: str | list[str], field_name: str = "--channels") -> list[str]:
    """The channel ids of ``text`` (a comma list, or a list), checked against the known
    profiles (built-in and the user's own), in order, without repeats.

    Raises:
        InputError: an unknown id, naming ``field_name`` and the known ids.
    """
    items = text.split(",") if isinstance(text, str) else text
    known = load_profiles()
    out: list[str] = []
    for raw in items:
        c = raw.strip().lower()
        if not c:
            continue
        if c not in known:
            raise InputError(
                f"{field_name} {raw.strip()}",
                tr("no such channel (known: {ids})").format(ids=", ".join(sorted(known))),
            )
        if c not in out:
            out.append(c)
    return out


def profiles_of(channels: list[str]) -> list[Profile]:
    """The profiles of ``channels`` (ids no longer known, e.g. a user file removed, are left out)."""
    known = load_profiles()
    return [known[c] for c in channels if c in known]


def code_of(store: Store, image_id: int) -> str | None:
    """The product code of the sheet row ``image_id`` was made from (``product_code``), which
    names a rendition where the channel wants it; ``None``: none known (the rule that the
    file is named by it says "not checked")."""
    try:
        return product_code(store.job(store.image(image_id).job_id).spec.row_values)
    except KeyError:  # replaced meanwhile (a re-make): nothing to name
        return None


def judge_image(
    store: Store,
    image_id: int,
    path: Path,
    profiles: list[Profile],
    *,
    use_ocr: bool = False,
    code: str | Literal[False] | None = False,
) -> list[Judgement]:
    """Judge the image file ``path`` (the store's ``image_id``) against ``profiles`` (one
    ``Judgement`` each, in their order) and store the verdicts; ``use_ocr``: read text (slow,
    about 0.4 s per channel), else text rules say "not checked". The caller resolves the
    profiles once (``profiles_of``), not once per image: that reads the user's profile files.
    ``code``: the image's product code when the caller has it (``code_of``); ``False``: look
    it up here.

    Raises:
        InputError: the file cannot be read as an image.
    """
    from atelier.output.channels.check import check_channels

    if code is False:
        code = code_of(store, image_id)
    found = check_channels(path, profiles, code=code, use_ocr=use_ocr)
    store.set_verdicts(image_id, [j.as_dict() for j in found], ocr=use_ocr)
    return found


class OnSave:
    """Judges images after they are saved, one at a time on a thread of its own, so neither
    the engine's event loop nor the window waits for it; a failure is logged, never raised.

    Paced: after each image it rests ``pace`` times as long as the image took, so while a run
    saves images the judge holds the interpreter (the GIL the engine's loop needs) about
    1/(1+pace) of the time (issue 31: at most 10 % more on ``bench/engine_overhead.py``);
    :meth:`drain` lets it finish the rest at full speed.
    """

    def __init__(self, pace: float = 9.0) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self.pace = pace
        self._hurry = threading.Event()
        # Each batch's channels resolved once, on the judge's thread (profiles_of reads the
        # user's profile files; per image it read them thousands of times in a run).
        self._profiles: dict[tuple[str, ...], list[Profile]] = {}

    def submit(self, store: Store, image_id: int, path: Path, channels: list[str]) -> None:
        """Judge ``path`` against ``channels`` later (without OCR); ``store`` waits for the
        judge before it closes."""
        store.before_close(self.drain)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="atelier-channels")
            fut = self._pool.submit(self._judge, store, image_id, path, channels)
            self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)

    def _judge(self, store: Store, image_id: int, path: Path, channels: list[str]) -> None:
        t0 = time.perf_counter()
        try:
            key = tuple(channels)
            # One lookup: ``drain`` on another thread may clear the cache between two.
            profiles = self._profiles.get(key)
            if profiles is None:
                profiles = self._profiles[key] = profiles_of(channels)
            judge_image(store, image_id, path, profiles)
        except (AtelierError, OSError, sqlite3.Error) as e:  # a closed store, a file moved
            log.warning("channels of image %s not judged: %s", image_id, e)
        self._hurry.wait((time.perf_counter() - t0) * self.pace)

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every submitted image is judged, unpaced (tests, the end of a CLI run,
        the window's marks)."""
        self._hurry.set()
        try:
            for fut in list(self._pending):
                fut.exception(timeout)
        finally:
            self._hurry.clear()
            self._profiles.clear()  # the next run reads the user's profiles again


ON_SAVE = OnSave()
"""The process's one background judge (the engine submits to it after each save)."""


@dataclass
class ChannelExport:
    """What a channel export did: renditions written per channel, and the images skipped
    (``(file, channel, reasons)``: a failed rule no fix can meet, not overridden)."""

    written: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    overridden: list[tuple[str, str]] = field(default_factory=list)


def export_renditions(
    store: Store,
    images: list[tuple[ImageRow, str]],
    channels: list[str],
    root: Path,
    *,
    use_ocr: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ChannelExport:
    """Write each of ``images`` (the row and its name relative to the output folder) as one
    rendition per channel under ``root/<channel>/`` (``fix.fix_channels``), judging it first
    (with OCR when ``use_ocr``; the verdicts are stored); an image failing a rule no fix can
    meet is skipped for that channel unless overridden.

    Raises:
        InputError: a source cannot be read; OutputError: a rendition cannot be written.
    """
    from atelier.output.channels.fix import fix_channels

    profiles = profiles_of(channels)
    done = ChannelExport({p.id: 0 for p in profiles})
    named: dict[str, int] = {}  # product code → images named by it so far
    for n, (im, rel) in enumerate(images):
        code = code_of(store, im.id)
        before = judge_image(store, im.id, im.path, profiles, use_ocr=use_ocr, code=code)
        overrides = store.image_verdicts(im.id)
        keep: list[tuple[Profile, Judgement]] = []
        for p, j in zip(profiles, before, strict=True):
            bad = j.unfixable()
            ov = overrides.get(p.id)
            if bad and not (ov and ov.override):
                done.skipped.append((rel, p.id, "; ".join(r.label for r in bad)))
                continue
            if bad:
                done.overridden.append((rel, p.id))
            keep.append((p, j))
        if keep:
            sub = Path(rel).parent
            if code:  # a product's further images: code_1, code_2… (Yahoo! Shopping's names)
                seen = named[code] = named.get(code, 0) + 1
                code = code if seen == 1 else f"{code}_{seen - 1}"
            fix_channels(
                im.path,
                [p for p, _ in keep],
                lambda p, sub=sub: root / p.id / sub,  # type: ignore[misc]
                code=code,
                judged=[j for _, j in keep],
                recheck=False,
            )
            for p, _ in keep:
                done.written[p.id] += 1
        if progress:
            progress(n + 1)
    _write_list(root / "channels.csv", done)
    return done


def _write_list(path: Path, done: ChannelExport) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["file", "channel", "status", "reason"])
    for rel, ch, why in done.skipped:
        w.writerow([rel, ch, "skipped", why])
    for rel, ch in done.overridden:
        w.writerow([rel, ch, "overridden", ""])
    atomic_write(path, ("\ufeff" + buf.getvalue()).encode("utf-8"))


def export_renditions_zip(
    store: Store,
    images: list[tuple[ImageRow, str]],
    channels: list[str],
    path: Path,
    *,
    use_ocr: bool = True,
) -> ChannelExport:
    """As :func:`export_renditions`, into the ZIP ``path`` (``amazon/cup.jpg``…, with
    ``channels.csv`` listing what was skipped and overridden)."""
    with tempfile.TemporaryDirectory(prefix="atelier-channels-") as tmp:
        root = Path(tmp)
        done = export_renditions(store, images, channels, root, use_ocr=use_ocr)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for f in sorted(root.rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(root).as_posix())
        atomic_write(path, buf.getvalue())
    return done
