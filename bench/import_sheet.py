"""Benchmark 5: a 100,000-row, 12-column Shift_JIS CSV into the spreadsheet view (goal < 2 s).

The studio runs offscreen; the time runs from "import this file" to the view having painted
its first rows (encoding detection, parsing, Shopify checks, the model and the first paint).

    .venv/bin/python bench/import_sheet.py [--quick]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import time
from pathlib import Path

from bench.common import machine, peak_rss_mb

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_csv(path: Path, rows: int) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "品番",
            "商品名",
            "カラー",
            "素材",
            "シーン",
            "価格",
            "在庫",
            "説明",
            "ブランド",
            "カテゴリ",
            "タグ",
            "画像",
        ]
    )
    names = ["急須", "湯呑み", "土鍋", "箸置き", "風呂敷", "手ぬぐい"]
    for i in range(rows):
        w.writerow(
            [
                f"JP-{i:06d}",
                names[i % 6],
                "黒",
                "常滑焼",
                "和室の縁側",
                str(1000 + i % 500),
                str(i % 50),
                "手作りの品です。、「和」の暮らしに。" * 2,
                "山田工房",
                "茶器",
                "和,茶,ギフト",
                f"img/{i}.jpg",
            ]
        )
    path.write_bytes(buf.getvalue().encode("cp932"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20,000 rows instead of 100,000")
    args = ap.parse_args()
    rows = 20_000 if args.quick else 100_000
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ATELIER_HOME"] = str(Path(tmp) / "home")
        sheet = Path(tmp) / "catalog-sjis.csv"
        make_csv(sheet, rows)
        from PySide6.QtWidgets import QApplication

        app = QApplication([])
        import asyncio

        from atelier.studio.loop import WindowLoop

        loop = WindowLoop(app)  # the window reads the file in a worker thread
        asyncio.set_event_loop(loop)
        from atelier.studio.app import build_window

        win, store = build_window()
        win.resize(1400, 880)
        win.show()
        app.processEvents()
        rss_before = peak_rss_mb()
        painted: list[float] = []
        from PySide6.QtCore import QEvent, QObject

        class Spy(QObject):
            def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
                if (
                    ev.type() == QEvent.Type.Paint
                    and win.sheet.sheet_model.rowCount()
                    and not painted
                ):  # type: ignore[attr-defined]
                    painted.append(time.perf_counter())
                return False

        spy = Spy()
        win.sheet.sheet_view.viewport().installEventFilter(spy)  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        assert loop.run_until_complete(win.load_spreadsheet(sheet))  # type: ignore[attr-defined]
        while not painted:
            app.processEvents()
        elapsed = painted[0] - t0
        model = win.sheet.sheet_model  # type: ignore[attr-defined]
        assert model.rowCount() == rows and model.columnCount() == 12
        enc = win.sheet.table.encoding  # type: ignore[attr-defined]
        print(f"{rows:,} rows × 12 columns, {sheet.stat().st_size / 1e6:.1f} MB, detected {enc}")
        print(
            f"rows visible after {elapsed:.2f} s; peak RSS {peak_rss_mb():.0f} MB "
            f"({peak_rss_mb() - rss_before:.0f} MB for the import)"
        )
        win.close()  # type: ignore[attr-defined]
        store.close()
        loop.close()  # joins the worker thread that read the file
    print(
        f"SUMMARY import: {rows:,} Shift_JIS rows visible in {elapsed:.2f} s, peak RSS {peak_rss_mb():.0f} MB "
        f"(goal < 2 s: {'met' if elapsed < 2 else 'NOT MET'})"
    )


if __name__ == "__main__":
    main()
