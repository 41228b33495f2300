"""Benchmark 4: a gallery of 10,000 PNGs of 1024×1024.

First thumbnails visible (the first screenful loaded) on a cold cache (goal < 0.5 s) and a
warm one, thumbnails cached on disk (goal < 0.2 s); then scrolling from top to bottom, a page
every 30 ms, while a 5 ms QTimer heartbeat measures event-loop stalls (goal: none over 100 ms).
The 10,000 files are hard links to 20 distinct images (each still decoded on its own).

Then a stored batch of 10,000 jobs with 3 versions each (30,000 image records): its first
screen, a scroll top to bottom, and 1,000 culling key presses (P and X in turn, each stored
and auto-advancing) with the same heartbeat (goal: no stall over 100 ms while culling).

    .venv/bin/python bench/gallery.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import Heartbeat, machine, peak_rss_mb, percentile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_folder(folder: Path, n: int) -> None:
    from PIL import Image, ImageDraw

    folder.mkdir()
    sources = []
    for k in range(20):
        img = Image.new("RGB", (1024, 1024), (40 + 10 * k, 90, 200 - 8 * k))
        ImageDraw.Draw(img).ellipse((100 + k * 10, 100, 900, 900 - k * 10), fill=(250, 220, 120))
        p = folder / f"source-{k:02d}.png"
        img.save(p, compress_level=1)
        sources.append(p)
    for i in range(n - len(sources)):
        os.link(sources[i % len(sources)], folder / f"img-{i:05d}.png")


def first_screen(app: object, win: object, folder: Path) -> tuple[float, float]:
    view, model = win.gallery.gallery_view, win.gallery.gallery_model  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    win.show_folder(folder)  # type: ignore[attr-defined]
    first = None
    while True:
        app.processEvents()  # type: ignore[attr-defined]
        visible = [
            r
            for r in range(min(model.rowCount(), 200))
            if view.visualRect(win.gallery.gallery_proxy.index(r, 0)).intersects(
                view.viewport().rect()
            )
        ]  # type: ignore[attr-defined]
        loaded = [r for r in visible if model.is_loaded(r)]
        if loaded and first is None:
            first = time.perf_counter() - t0
        if visible and len(loaded) == len(visible):
            return first or 0.0, time.perf_counter() - t0
        if time.perf_counter() - t0 > 30:
            raise RuntimeError("thumbnails did not load")


def make_versioned_batch(store: object, folder: Path, n: int) -> int:
    """A completed batch of ``n`` jobs, each with 3 versions (hard links to ``folder``'s 20
    sources, as the gallery benchmark's files are), stored as the engine stores them."""
    from atelier.core.models import JobSpec, RunSettings
    from atelier.core.status import JobStatus
    from atelier.store import Store
    from tests.support.batches import store_batch

    assert isinstance(store, Store)
    out = folder.parent / "versioned"
    out.mkdir()
    sources = sorted(folder.glob("source-*.png"))
    specs = [JobSpec(prompt=f"product {i}", output_path=f"p-{i:05d}.png") for i in range(n)]
    bid = store_batch(store, RunSettings(), specs, out, name="versions")
    for job in store.jobs(bid):
        for v in (1, 2, 3):
            path = out / job.spec.sample_paths(v)[0]
            os.link(sources[(job.seq + v) % len(sources)], path)
            if v > 1:
                store.set_job_status(job.id, JobStatus.COMPLETED)
                store.start_version(job.id, job.spec.model_dump_json())
            store.add_image(job.id, 0, path, None)
        store.set_job_status(job.id, JobStatus.COMPLETED)
    return bid


def scroll_to_bottom(app: object, view: object) -> None:
    """Scroll ``view`` from top to bottom, a page every 30 ms, the events processed between."""
    bar = view.verticalScrollBar()  # type: ignore[attr-defined]
    step = max(1, bar.pageStep())
    while bar.value() < bar.maximum():
        bar.setValue(bar.value() + step)
        end = time.perf_counter() + 0.03
        while time.perf_counter() < end:
            app.processEvents()  # type: ignore[attr-defined]


def culling(app: object, win: object, bid: int, presses: int) -> dict[str, float]:
    """Open the batch, load the first screen, scroll it, then cull ``presses`` images with
    P/X; returns the figures (seconds, stalls in ms)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    gallery = win.gallery  # type: ignore[attr-defined]
    view, model = gallery.gallery_view, gallery.gallery_model
    win.tabs.setCurrentIndex(3)  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    win.open_batch(bid, in_steps=True)  # type: ignore[attr-defined]  # as History opens it
    while True:
        app.processEvents()  # type: ignore[attr-defined]
        visible = [r for r in range(min(model.rowCount(), 200)) if view.visualRect(gallery.gallery_proxy.index(r, 0)).intersects(view.viewport().rect())]  # fmt: skip
        if visible and all(model.is_loaded(r) for r in visible):
            break
    first = time.perf_counter() - t0
    hb = Heartbeat()
    hb.start()
    total = win.store.batch(bid).total  # type: ignore[attr-defined]
    while model.rowCount() < total:  # the rest of the batch, read in a worker thread
        app.processEvents()  # type: ignore[attr-defined]
    whole = time.perf_counter() - t0
    reading_stalls = hb.stalls_ms()
    hb.start()
    scroll_to_bottom(app, view)
    scroll_stalls = hb.stalls_ms()
    hb.start()
    view.verticalScrollBar().setValue(0)
    view.setFocus()
    view.setCurrentIndex(gallery.gallery_proxy.index(0, 0))
    t1 = time.perf_counter()
    for i in range(presses):
        QTest.keyClick(view, Qt.Key.Key_P if i % 2 == 0 else Qt.Key.Key_X)
        end = time.perf_counter() + 0.002  # a fast key-repeat: 500 presses a second at most
        while time.perf_counter() < end:
            app.processEvents()  # type: ignore[attr-defined]
    cull_s = time.perf_counter() - t1
    for _ in range(20):
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)
    hb.stop()
    stalls = hb.stalls_ms()
    counts = model.counts()
    stored = win.store.images(bid)  # type: ignore[attr-defined]
    right = (
        counts["picked"] == sum(im.flag == "picked" for im in stored) == presses // 2
        and counts["rejected"] == sum(im.flag == "rejected" for im in stored) == presses - presses // 2
        and all(im.version == 3 for im in stored)
    )  # fmt: skip
    return {"first": first, "whole": whole, "reading_worst": max(reading_stalls or [0.0]),
            "cull_s": cull_s, "worst": max(stalls), "p99": percentile(stalls, 99),
            "scroll_worst": max(scroll_stalls), "right": float(right)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2,000 images instead of 10,000")
    args = ap.parse_args()
    n = 2000 if args.quick else 10_000
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ATELIER_HOME"] = str(Path(tmp) / "home")
        folder = Path(tmp) / "images"
        make_folder(folder, n)
        from PySide6.QtWidgets import QApplication

        app = QApplication([])
        from atelier.studio.app import build_window

        results = {}
        for phase in ("cold", "warm"):
            win, store = build_window()
            win.resize(1400, 880)  # type: ignore[attr-defined]
            win.show()  # type: ignore[attr-defined]
            app.processEvents()
            results[phase] = first_screen(app, win, folder)
            if phase == "warm":
                hb = Heartbeat()
                hb.start()
                t0 = time.perf_counter()
                scroll_to_bottom(app, win.gallery.gallery_view)  # type: ignore[attr-defined]
                scroll_s = time.perf_counter() - t0
                hb.stop()
                folder_stalls = hb.stalls_ms()
            win.close()  # type: ignore[attr-defined]
            store.close()
        win, store = build_window()
        win.resize(1400, 880)  # type: ignore[attr-defined]
        win.show()  # type: ignore[attr-defined]
        t_setup = time.perf_counter()
        bid = make_versioned_batch(store, folder, n)
        setup_s = time.perf_counter() - t_setup
        cull = culling(app, win, bid, 1000 if not args.quick else 200)
        win.close()  # type: ignore[attr-defined]
        store.close()
    worst, p99 = max(folder_stalls), percentile(folder_stalls, 99)
    cold_first, cold_screen = results["cold"]
    warm_first, warm_screen = results["warm"]
    print(f"{n:,} PNGs 1024x1024")
    print(f"cold cache: first thumbnail {cold_first:.3f} s, first screen {cold_screen:.3f} s")
    print(f"warm cache: first thumbnail {warm_first:.3f} s, first screen {warm_screen:.3f} s")
    print(
        f"scroll top to bottom: {scroll_s:.1f} s, longest stall {worst:.0f} ms, p99 {p99:.0f} ms; "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )
    presses = 1000 if not args.quick else 200
    print(
        f"batch of {n:,} jobs × 3 versions (stored in {setup_s:.1f} s): first screen "
        f"{cull['first']:.2f} s, whole batch shown {cull['whole']:.2f} s (longest stall meanwhile "
        f"{cull['reading_worst']:.0f} ms); scroll top to bottom: longest stall {cull['scroll_worst']:.0f} ms; "
        f"{presses} P/X presses in {cull['cull_s']:.1f} s, longest stall "
        f"{cull['worst']:.0f} ms, p99 {cull['p99']:.0f} ms; view and store agree: {bool(cull['right'])}"
    )
    ok = cold_screen < 0.5 and warm_screen < 0.2 and worst < 100
    print(
        f"SUMMARY gallery: first screen cold {cold_screen:.2f} s (goal < 0.5), warm {warm_screen:.2f} s "
        f"(goal < 0.2), scroll stall max {worst:.0f} ms (goal < 100): {'met' if ok else 'NOT MET'}"
    )
    cull_ok = (
        cull["first"] < 0.5 and max(cull["worst"], cull["scroll_worst"]) < 100 and cull["right"]
    )
    print(
        f"SUMMARY gallery culling: {n:,} jobs × 3 versions, first screen {cull['first']:.2f} s "
        f"(goal < 0.5), scroll stall {cull['scroll_worst']:.0f} ms, {presses} P/X presses, longest "
        f"stall {cull['worst']:.0f} ms (goals < 100), "
        f"counts right: {'met' if cull_ok else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
