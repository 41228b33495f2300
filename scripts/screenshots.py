"""Take the README screenshots: the studio offscreen with the Shopify export, a run against the
fake OpenAI server (two rows rate-limited then fine, one blocked by moderation), every view.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument(
        "--only",
        choices=[
            "delivery",
            "reuse",
            "economy",
            "first-run",
            "pages",
            "team",
            "channels",
            "prices",
        ],
        help="one scenario only (first-run: run it again with ATELIER_COLOR_SCHEME=dark; "
        "pages: every page at 1280×800 in ATELIER_LANGUAGE, for docs/screenshots/<lang>; "
        "channels: the channel marks, the fails-Rakuten filter and the viewer's rules, "
        "likewise; prices: Settings → Prices with a model the user imported, likewise)",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="atelier-shots-"))
    os.environ["ATELIER_HOME"] = str(tmp / "home")

    from tests.fakes.openai_server import FakeOpenAI

    fake = FakeOpenAI(api_key="sk-screenshot").start()
    fake.state.latency_s = 0.05
    fake.state.retry_after_s = 0.3
    os.environ["OPENAI_API_KEY"] = "sk-screenshot"
    os.environ["ATELIER_OPENAI_BASE_URL"] = fake.base_url
    for words in ("Ocean Breeze", "Cotton Cushion Cover in Sage"):
        fake.script_for(words, ["429"])
    fake.script_for("Wooden Serving Board", ["moderation_blocked"] * 5)

    from PySide6.QtWidgets import QApplication

    from atelier.studio.loop import WindowLoop

    app = QApplication([])
    from atelier.studio.look.theme import dark, follow_system

    follow_system(app)  # as the studio does: Fusion, light or dark (ATELIER_COLOR_SCHEME)
    from atelier.core.i18n import current_language, system_language, use_language
    from atelier.studio.look.fonts import apply_ui_font
    from atelier.studio.look.qt_translations import install_qt_translations

    use_language(system_language())  # ATELIER_LANGUAGE=ja … for docs/screenshots/<lang>/
    install_qt_translations(app)
    apply_ui_font(app, current_language())
    loop = WindowLoop(app)
    asyncio.set_event_loop(loop)
    from atelier.studio.app import build_window

    win, store = build_window()
    from atelier.studio.widgets.spend_dialog import SpendAnswer, SpendDialog

    spend_questions: list[object] = []
    spend_shot = ["29-spend-confirmation.png"]  # the pages scenario numbers it as a page

    def say_yes(_parent: object, question: object) -> SpendAnswer:
        """The money question, answered with its suggested cap (and its dialog shot once)."""
        if not spend_questions:
            dlg = SpendDialog(question, win)  # type: ignore[arg-type]
            dlg.show()
            shot(spend_shot[0], dlg)
            dlg.close()
        spend_questions.append(question)
        return SpendAnswer(question.cap_usd)  # type: ignore[attr-defined]

    win.ask_spend = say_yes  # type: ignore[attr-defined]
    win.resize(1440, 900)
    win.show()

    def shot(name: str, widget: object = None) -> None:
        app.processEvents()
        (widget or win).grab().save(str(args.out / name))  # type: ignore[attr-defined]
        print("wrote", args.out / name)

    async def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await asyncio.sleep(0.02)

    async def scenario() -> None:
        await win.load_spreadsheet(args.data / "shopify-home-goods.csv")
        win.sheet.prompt_edit.setPlainText(
            "Studio product photo of {Title} in {Option1 Value}, {Vendor} style, "
            "soft daylight on a linen table"
        )
        win.sheet.filename_edit.setText("{Vendor}/{Variant SKU}")
        win.sheet.sheet_view.selectRow(1)
        await settle(0.3)
        shot("1-spreadsheet-template.png")
        win.tabs.setCurrentIndex(1)
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("stability"))
        win.batch.style_combo.setCurrentText("photographic")
        win.sheet.negative_edit.setText("text, watermark, blurry")
        win.update_estimate()
        await settle(0.3)
        shot("2b-batch-stability-options.png")
        win.sheet.negative_edit.setText("")
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("openai"))
        win.batch.quality_combo.setCurrentText("medium")
        win.batch.output_edit.setText(str(tmp / "Shop images"))
        win.update_estimate()
        await settle(0.3)
        shot("2-batch-estimate.png")
        done: list[int] = []
        win.batch_done.connect(done.append)
        win.batch.concurrency_spin.setValue(3)
        win.start_batch()
        began = time.monotonic()
        while sum(1 for j in win.progress.jobs_model.jobs if j.status == "completed") < 14:
            await asyncio.sleep(0.02)
            if time.monotonic() - began > 60:
                raise RuntimeError(
                    "the OpenAI run made no progress: "
                    f"{win.statusBar().currentMessage()!r} {win.banner.label.text()!r}"
                )
        win.toggle_pause()
        await settle(0.5)
        shot("3-progress-running.png")
        win.toggle_pause()
        while not done:
            await asyncio.sleep(0.05)
        await settle(0.3)
        shot("4-progress-finished-with-failure.png")
        await fix_failed_row("30-prompt-editor-failed-row.png")
        win.tabs.setCurrentIndex(3)
        await settle(1.5)
        reject_first_tile()
        await settle(0.5)
        shot("5-gallery-openai-with-failure.png")
        # A rehearsal of the same batch on the offline draft provider: what designers do first.
        win.tabs.setCurrentIndex(1)
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("draft"))
        win.batch.output_edit.setText(str(tmp / "Shop drafts"))
        win.start_batch()
        while len(done) < 2:
            await asyncio.sleep(0.05)
        win.banner.hide()
        win.tabs.setCurrentIndex(3)
        await settle(2.0)
        shot("5-gallery-draft.png")
        viewer = win.gallery.open_item(win.gallery.gallery_proxy.index(0, 0))
        await settle(0.3)
        shot("6-image-viewer.png", viewer)
        viewer.close()
        win.tabs.setCurrentIndex(4)
        await settle(0.2)
        shot("7-history.png")
        dlg = win.open_settings()
        await settle(0.2)
        await dlg.panels["openai"].test_connection()
        shot("8-settings-providers.png", dlg)
        dlg.reject()
        await keyring_refused("33-settings-key-for-session.png")
        await rows_chosen("31-sheet-rows-chosen.png", "32-estimate-one-per-product.png")
        await exports_scenario()
        await review_scenario()
        await delivery_scenario()
        await reuse_scenario()

    async def fix_failed_row(name: str) -> None:
        """Issue 28: "Edit prompt and regenerate…" on the row a provider refused opens the
        prompt editor with its reason and cost (shot, then closed unanswered)."""
        failed = [j for j in win.progress.jobs_model.jobs if j.status == "failed"]
        if not failed:
            print("no failed row: no", name)
            return
        editor = win.review.edit_prompt(failed[0].id)
        await settle(0.5)
        shot(name, editor)
        editor.reject()

    def reject_first_tile() -> None:
        """Issue 28's culling: X on the first image (it is dimmed, the view moves on past a
        failed tile), so the gallery shows a rejected tile beside a failed one."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        g = win.gallery
        view = g.gallery_view
        view.setFocus()
        proxy = g.gallery_proxy
        first = next(
            proxy.index(r, 0)
            for r in range(proxy.rowCount())
            if g.gallery_model.tiles[proxy.mapToSource(proxy.index(r, 0)).row()].status != "failed"
        )
        view.setCurrentIndex(first)
        QTest.keyClick(view, Qt.Key.Key_X)
        g.update_counts()

    async def keyring_refused(name: str) -> None:
        """Issue 28's keys: Save in Settings on a machine without a Secret Service says why,
        whole, and offers to keep the key for this session only."""
        import keyring
        from keyring.backends import fail

        before = keyring.get_keyring()
        keyring.set_keyring(fail.Keyring())
        try:
            dlg = win.open_settings()
            dlg.panels["openai"].key_edit.setText("sk-proj-Xn4sK2mQ9vT7wY1z")
            dlg._save()
            await settle(0.5)
            shot(name, dlg)
            dlg.reject()
        finally:
            keyring.set_keyring(before)

    async def rows_chosen(sheet_name: str, estimate_name: str | None) -> None:
        """Issue 28's rows: a search over the row values, some rows unticked, the count; then
        the estimate of the ticked rows, one image per product where the sheet has products."""
        from PySide6.QtCore import Qt

        win.banner.hide()
        win.tabs.setCurrentIndex(0)
        sheet = win.sheet
        model = sheet.sheet_view.model()
        sheet.select_all_button.click()
        sheet.row_search.setText(rows_search[0])
        sheet.apply_row_filter()
        for row in range(1, model.rowCount(), 2):
            model.setData(
                model.index(row, 0), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole
            )
        sheet.sheet_view.selectRow(0)
        await settle(0.5)
        shot(sheet_name)
        sheet.row_search.clear()
        sheet.apply_row_filter()
        if estimate_name is None:
            return
        win.tabs.setCurrentIndex(1)
        from atelier.sheet.products import Per

        win.batch.select_per(Per("product"))
        win.update_estimate()
        await settle(0.8)
        shot(estimate_name)
        win.batch.select_per(Per())
        sheet.select_all_button.click()

    rows_search = ["Candle"]

    async def delivery_scenario() -> None:
        """Issue 13's views: the Deliver section (S3 on moto's server, a signed webhook, Slack,
        a CMS that refuses its first three calls), a draft run, and the delivery states it
        leaves."""
        from tests.fakes.receivers import CmsFake, SlackFake, WebhookReceiver
        from tests.fakes.s3 import CREDS, S3Server

        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        os.environ.update(
            AWS_ACCESS_KEY_ID=CREDS["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=CREDS["aws_secret_access_key"],
            ATELIER_WEBHOOK_SECRET=secret,
            ATELIER_CMS_TOKEN="the-current-token",
        )
        with (
            S3Server() as s3,
            SlackFake() as slack,
            WebhookReceiver(secret) as hook,
            CmsFake("the-current-token") as cms,
        ):
            s3.client().create_bucket(Bucket="home-goods")
            cms.fail([403, 403, 403])
            win.banner.hide()
            await win.load_spreadsheet(args.data / "shopify-home-goods.csv")
            win.sheet.prompt_edit.setPlainText("Studio product photo of {Title}, soft daylight")
            win.sheet.filename_edit.setText("{Variant SKU}")
            win.tabs.setCurrentIndex(1)
            win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("draft"))
            win.batch.output_edit.setText(str(tmp / "Delivered"))
            box = win.batch.deliver
            for name, value in {
                "s3_bucket": "home-goods",
                "s3_key": "products/{Vendor}/{file}",
                "s3_endpoint": s3.url,
                "s3_region": "us-east-1",
                "s3_public_url": "https://cdn.example-shop.jp/{key}",
                "webhook_url": hook.url + "/hooks/atelier",
                "slack_url": slack.url + "/services/T024/B0/xoxb",
                "cms_url": cms.url + "/api/products/{Variant SKU}",
            }.items():
                box.edits[name].setText(value)
            win.update_estimate()
            await settle(0.3)
            shot("18-batch-deliver-section.png")
            done: list[int] = []
            win.batch_done.connect(done.append)
            win.start_batch()
            while not done:
                await asyncio.sleep(0.05)
            while "slack ✓" not in win.progress.delivery_label.text():
                await asyncio.sleep(0.05)
            win.banner.hide()
            await settle(0.3)
            shot("19-progress-delivery-states.png")
            win.tabs.setCurrentIndex(3)
            await settle(1.5)
            shot("20-gallery-delivery-marks.png")

    async def reuse_scenario() -> None:
        """Issue 14's estimate: a Shopify export whose template names no variant column
        (identical prompts made once), then the same batch into a new folder (all copied)."""
        win.banner.hide()
        await win.load_spreadsheet(args.data / "shopify-home-goods.csv")
        win.sheet.prompt_edit.setPlainText("Studio photo of {Title}, soft daylight, linen")
        win.sheet.filename_edit.setText("{Variant SKU}")
        win.tabs.setCurrentIndex(1)
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("openai"))
        win.batch.quality_combo.setCurrentText("low")
        win.batch.output_edit.setText(str(tmp / "Reuse first"))
        win.update_estimate()
        await settle(0.3)
        shot("21-estimate-reuse-in-batch.png")
        done: list[int] = []
        win.batch_done.connect(done.append)
        win.start_batch()
        while not done:
            await asyncio.sleep(0.05)
        win.banner.hide()
        win.tabs.setCurrentIndex(1)
        win.batch.output_edit.setText(str(tmp / "Reuse again"))
        win.update_estimate()
        await settle(0.3)
        shot("22-estimate-reuse-earlier-batch.png")

    async def economy_scenario() -> None:
        """Issue 14's economy mode: both prices in the estimate, then the batch waiting on
        OpenAI's Batch API with part of its lines done."""
        win.banner.hide()
        await win.load_spreadsheet(args.data / "shopify-home-goods.csv")
        win.sheet.prompt_edit.setPlainText("Product photo of {Title} in {Option1 Value}")
        win.sheet.filename_edit.setText("{Variant SKU}")
        win.tabs.setCurrentIndex(1)
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("openai"))
        win.batch.quality_combo.setCurrentText("medium")
        win.batch.output_edit.setText(str(tmp / "Economy"))
        win.update_estimate()
        await settle(0.3)
        shot("23-estimate-now-and-economy.png")
        win.batch.economy_check.setChecked(True)
        win.update_estimate()
        await settle(0.3)
        shot("24-estimate-economy-chosen.png")
        fake.batches.duration_s = 30.0  # the provider works through the lines slowly
        win.start_batch()
        await settle(12.0)
        win.banner.hide()
        win.tabs.setCurrentIndex(2)
        await settle(0.3)
        shot("25-progress-waiting-for-openai.png")

    async def first_run_scenario() -> None:
        """Issue 15's first run: the empty start page offering the sample project, then the
        sample loaded (in the light or the dark scheme)."""
        suffix = "-dark" if dark() else ""
        win.banner.hide()
        await settle(0.3)
        shot(f"26-start-page-sample{suffix}.png")
        win.sheet.sample_requested.emit()
        win.banner.hide()
        await settle(0.5)
        shot(f"27-sample-project-loaded{suffix}.png")
        win.tabs.setCurrentIndex(1)
        win.update_estimate()
        await settle(0.5)
        shot(f"28-sample-batch-estimate{suffix}.png")

    async def review_scenario() -> None:
        """Issue 12's views: culling with badges and counts, a job's versions in the viewer,
        the compare view, the contact sheet."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        from atelier.output import handoff

        win.banner.hide()
        done: list[int] = []
        win.batch_done.connect(done.append)
        await win.load_spreadsheet(args.data / "jp-zakka-shift_jis.csv")
        win.sheet.variations_edit.setPlainText("")
        win.sheet.reference_combo.setCurrentIndex(0)
        win.sheet.prompt_edit.setPlainText("{商品名}（{カラー}・{素材}）、{シーン}で撮影")
        win.sheet.filename_edit.setText("{品番}")
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("draft"))
        win.batch.output_edit.setText(str(tmp / "Zakka review"))
        win.start_batch()
        while not done:
            await asyncio.sleep(0.05)
        win.tabs.setCurrentIndex(3)
        g = win.gallery
        await settle(1.0)
        view = g.gallery_view
        view.setFocus()
        view.setCurrentIndex(g.gallery_proxy.index(0, 0))
        for key in (Qt.Key.Key_P, Qt.Key.Key_X, Qt.Key.Key_P, Qt.Key.Key_X, Qt.Key.Key_P):
            QTest.keyClick(view, key)
        QTest.keyClick(view, Qt.Key.Key_4)
        win.review.regenerate([])  # every rejected one
        while len(done) < 2:
            await asyncio.sleep(0.05)
        await settle(1.5)
        g.update_counts()
        view.setCurrentIndex(g.gallery_proxy.index(1, 0))
        await settle(0.3)
        shot("14-gallery-culling-badges.png")
        viewer = win.review.open_viewer(g.gallery_model.tiles[1].job_id)
        await settle(0.3)
        shot("15-viewer-versions.png", viewer)
        compare = viewer.compare_versions()
        await settle(0.5)
        shot("16-compare-versions.png", compare)
        compare.close()
        viewer.close()
        images = win.store.images(win.batch_id)
        handoff.contact_pages(images, "Zakka review")[0].save(args.out / "17-contact-sheet.png")
        print("wrote", args.out / "17-contact-sheet.png")

    async def exports_scenario() -> None:
        """Issue 11's views: a Shopify export with extra-photo rows and URL references, a
        Rakuten item.csv with notes above its header, a template with variations."""
        from tests.data import exports

        win.banner.hide()
        win.tabs.setCurrentIndex(0)
        sheet = exports.shopify_with_photos(
            args.data / "shopify-home-goods.csv", tmp, host.url("/cdn")
        )
        await win.load_spreadsheet(sheet)
        win.sheet.prompt_edit.setPlainText(
            "The same {Title} restaged on a marble table, {Vendor} style, soft daylight"
        )
        win.sheet.filename_edit.setText("{Variant SKU}")
        win.sheet.variations_edit.setPlainText("")
        win.sheet.reference_combo.setCurrentIndex(win.sheet.reference_combo.findData("Image Src"))
        win.sheet.sheet_view.selectRow(0)
        await settle(1.0)
        shot("9-sheet-shopify-export.png")
        win.tabs.setCurrentIndex(1)
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("openai"))
        win.batch.quality_combo.setCurrentText("medium")
        win.batch.size_combo.setCurrentText("1024x1024")
        win.update_estimate()
        await settle(0.3)
        shot("10-batch-estimate-shopify.png")
        win.tabs.setCurrentIndex(0)
        await win.load_spreadsheet(exports.rakuten_item_csv(tmp))
        win.sheet.prompt_edit.setPlainText("{商品名}、{カラー}、白背景の商品写真")
        win.sheet.filename_edit.setText("{商品管理番号（商品URL）}")
        await settle(0.3)
        shot("11-sheet-header-row-detected.png")
        await win.load_spreadsheet(args.data / "shopify-home-goods.csv")
        box = win.sheet.library
        box.combo.setCurrentIndex(box.combo.findData("Lifestyle scene"))
        box.load()
        win.sheet.reference_combo.setCurrentIndex(0)
        await settle(0.3)
        shot("12-template-library-variations.png")
        win.tabs.setCurrentIndex(1)
        win.update_estimate()
        await settle(0.3)
        shot("13-batch-estimate-variations.png")

    async def pages_scenario() -> None:
        """Issue 15's screenshots: every page of the window at 1280×800 in the language in
        force, with the sample project and the Shift_JIS catalog run on draft."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        win.resize(1280, 800)
        win.banner.hide()
        await settle(0.3)
        shot("1-start-page.png")
        win.sheet.sample_requested.emit()
        win.banner.hide()
        await settle(0.5)
        shot("2-sample-project.png")
        await win.load_spreadsheet(args.data / "jp-zakka-shift_jis.csv")
        win.sheet.prompt_edit.setPlainText("{商品名}（{カラー}・{素材}）、{シーン}で撮影")
        win.sheet.negative_edit.setText("文字, 透かし")
        win.sheet.filename_edit.setText("{品番}")
        win.sheet.sheet_view.selectRow(2)
        await settle(0.5)
        shot("3-spreadsheet-shift-jis.png")
        win.tabs.setCurrentIndex(1)
        win.batch.select_provider("draft")
        win.batch.output_edit.setText(str(tmp / "Zakka"))
        win.update_estimate()
        await settle(0.5)
        shot("4-batch-estimate.png")
        done: list[int] = []
        win.batch_done.connect(done.append)
        win.start_batch()
        while not done:
            await asyncio.sleep(0.05)
        await settle(0.5)
        shot("5-progress.png")
        win.banner.hide()
        win.tabs.setCurrentIndex(3)
        await settle(1.5)
        g = win.gallery
        view = g.gallery_view
        view.setFocus()
        view.setCurrentIndex(g.gallery_proxy.index(0, 0))
        for key in (Qt.Key.Key_P, Qt.Key.Key_X, Qt.Key.Key_P):
            QTest.keyClick(view, key)
        g.update_counts()
        await settle(0.3)
        shot("6-gallery.png")
        viewer = win.review.open_viewer(g.gallery_model.tiles[0].job_id)
        await settle(0.5)
        shot("7-viewer.png", viewer)
        viewer.close()
        view.selectionModel().clearSelection()
        for row in (0, 1, 2):
            view.selectionModel().select(
                g.gallery_proxy.index(row, 0), view.selectionModel().SelectionFlag.Select
            )
        compare = g.compare_selected()
        await settle(0.5)
        shot("8-compare.png", compare)
        compare.close()
        win.tabs.setCurrentIndex(4)
        await settle(0.3)
        shot("9-history.png")
        dlg = win.open_settings()
        await settle(0.3)
        shot("10-settings.png", dlg)
        dlg.reject()
        # Issue 28's views in this language: the spend question before a paid run (the
        # catalog on the fake OpenAI, the knife refused), the prompt editor on that row, a
        # rejected tile beside the failed one, rows chosen on the sheet, the keyring refused.
        spend_shot[0] = "11-spend-confirmation.png"
        fake.script_for("包丁", ["moderation_blocked"] * 5)
        win.banner.hide()
        win.tabs.setCurrentIndex(1)
        win.batch.select_provider("openai")
        win.batch.output_edit.setText(str(tmp / "Zakka OpenAI"))
        win.update_estimate()
        await settle(0.5)
        win.start_batch()
        while len(done) < 2:
            await asyncio.sleep(0.05)
        win.banner.hide()
        win.tabs.setCurrentIndex(2)
        await settle(0.5)
        await fix_failed_row("12-prompt-editor-failed-row.png")
        win.tabs.setCurrentIndex(3)
        await settle(1.5)
        reject_first_tile()
        await settle(0.5)
        shot("13-gallery-rejected-and-failed.png")
        rows_search[0] = "JP-TEA"
        await rows_chosen("14-sheet-rows-chosen.png", None)
        await keyring_refused("15-settings-key-for-session.png")

    async def channels_scenario() -> None:
        """Issue 31's views in the language in force: six product images judged against
        Amazon and Rakuten (text read with OCR), their marks on the tiles, "fails Rakuten"
        in the Show box, and the viewer's rule list of a failing image."""
        from atelier.core.models import JobSpec, RunSettings
        from atelier.output.channels.batch import judge_image
        from tests.output.channels.images import framed, photo, product, save, with_text
        from tests.support.batches import store_batch

        win.resize(1280, 800)
        win.banner.hide()
        out = tmp / "Channels"
        images = {
            "TEA-001.png": product((1200, 1200), fill=0.88),
            "TEA-002.png": product((1200, 1200), fill=0.6),
            "TEA-003.png": photo((1200, 1200)),
            "TEA-004.png": framed(product((1200, 1200), fill=0.8)),
            "TEA-005.png": with_text(
                product((1200, 1200), fill=0.7),
                [("送料無料", (60, 40)), ("期間限定セール", (60, 1020))],
                110,
            ),
            "TEA-006.png": product((1200, 1200), bg=(236, 236, 236), fill=0.85),
        }
        for name, img in images.items():
            save(img, out / name)
        rs = RunSettings(channels=["amazon", "rakuten"])
        specs = [JobSpec(prompt=f"湯呑み {n}", output_path=n) for n in images]
        bid = store_batch(win.store, rs, specs, out, name="Channels")
        for job, name in zip(win.store.jobs(bid), images, strict=True):
            image_id = win.store.add_image(job.id, 0, out / name, None)
            await asyncio.to_thread(
                judge_image, win.store, image_id, out / name, rs.channels, use_ocr=True
            )
        win.open_batch(bid)
        win.tabs.setCurrentIndex(3)
        await settle(1.5)
        g = win.gallery
        shot("16-gallery-channel-marks.png")
        g.show_fails("rakuten")
        await settle(0.5)
        shot("17-gallery-fails-rakuten.png")
        viewer = win.review.open_viewer(g.gallery_model.tiles[4].job_id)
        await settle(0.5)
        shot("18-viewer-channel-rules.png", viewer)
        viewer.close()

    async def prices_scenario() -> None:
        """Issue 30's view in the language in force: Settings → Prices after Import… of a
        file naming next month's model (the TOML of ``tests/cli/test_prices_models.py``, a
        made-up gpt-image-2.7 and a price from an invoice), the list sorted by model with its
        rows selected."""
        from PySide6.QtCore import Qt

        from tests.cli.test_prices_models import NEXT_MONTH

        win.resize(1280, 800)
        win.banner.hide()
        mine = tmp / "next-month.toml"
        mine.write_text(NEXT_MONTH, encoding="utf-8")
        dlg = win.open_settings()
        dlg.resize(1200, 760)
        dlg.tabs.setCurrentIndex(1)
        if not dlg.import_prices(mine):
            raise RuntimeError(f"the import failed: {dlg.prices_status.text()!r}")
        # Sorted by model (a click on its header): the invoice's price, the model's own
        # price and its token rates together, all selected.
        view = dlg.prices_view
        view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        model = dlg.prices_model
        rows = [r for r in range(model.rowCount()) if model.lines[r].model == "gpt-image-2.7"]
        if not rows:
            raise RuntimeError("gpt-image-2.7 is not in the price list after the import")
        flags = view.selectionModel().SelectionFlag
        view.selectRow(rows[0])
        for r in rows[1:]:
            view.selectionModel().select(model.index(r, 0), flags.Select | flags.Rows)
        view.scrollTo(model.index(rows[0], 0), view.ScrollHint.PositionAtCenter)
        await settle(0.3)
        shot("19-settings-prices-imported.png", dlg)
        dlg.reject()

    async def team_scenario() -> None:
        """Issue 16's screenshots: the Shift_JIS catalog started from the window on a team
        queue (a real redis-server) and made by two ``atelier worker`` processes, each with its
        own AUTOMATIC1111 fake (0.4 s per image); Settings → Team queue; the Team page."""
        import signal

        from atelier.team.control import control, list_batches
        from tests.fakes.a1111 import A1111Dialect
        from tests.fakes.framework import FakeServer
        from tests.support.redis import RedisServer, start_worker

        (tmp / "redis").mkdir()
        server = RedisServer(tmp / "redis").start()
        gpus = [FakeServer(A1111Dialect, api_key=None).start() for _ in range(2)]
        for g in gpus:
            g.dialect.work_s = 0.4  # type: ignore[attr-defined]
            g.script(["work"] * 100)
        workers = [
            start_worker(
                server.url,
                tmp / f"gpu{i}",
                {"ATELIER_A1111_BASE_URL": g.url},
                "--providers",
                "a1111",
                "--concurrency",
                "1",
            )
            for i, g in enumerate(gpus)
        ]
        try:
            win.resize(1280, 800)
            win.banner.hide()
            dlg = win.open_settings()
            dlg.team_queue.setText(server.url)
            dlg.use_team_queue.setChecked(True)
            await settle(0.3)
            shot("team-1-settings.png", dlg)
            dlg._save()
            await win.load_spreadsheet(args.data / "jp-zakka-shift_jis.csv")
            win.sheet.prompt_edit.setPlainText("{商品名}（{カラー}・{素材}）、{シーン}で撮影")
            win.sheet.filename_edit.setText("{品番}")
            win.tabs.setCurrentIndex(1)
            win.batch.select_provider("a1111")
            win.batch.output_edit.setText(str(tmp / "Zakka-team"))
            done: list[int] = []
            win.batch_done.connect(done.append)
            win.start_batch()
            await settle(2.5)
            win.banner.hide()
            shot("team-2-progress-from-workers.png")
            while not done:
                await asyncio.sleep(0.05)
            (first,) = await asyncio.to_thread(lambda: asyncio.run(list_batches(server.url)))
            said = await asyncio.to_thread(
                lambda: asyncio.run(control(server.url, first.id, "pause"))
            )
            win.tabs.setCurrentIndex(5)
            await settle(1.0)
            win.team.view.selectRow(0)
            win.team.show_message(said)
            await settle(0.3)
            shot("team-3-team-page.png")
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
                w.communicate(timeout=30)
            for g in gpus:
                g.stop()
            server.stop()

    from tests.fakes.image_host import ImageHost

    host = ImageHost(any_photo=True).__enter__()
    only = {
        "delivery": delivery_scenario,
        "reuse": reuse_scenario,
        "economy": economy_scenario,
        "first-run": first_run_scenario,
        "pages": pages_scenario,
        "team": team_scenario,
        "channels": channels_scenario,
        "prices": prices_scenario,
    }
    loop.run_until_complete(only[args.only]() if args.only else scenario())
    host.__exit__()
    win.close()
    loop.close()
    store.close()
    fake.stop()


if __name__ == "__main__":
    main()
