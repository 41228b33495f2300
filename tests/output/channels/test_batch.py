"""A batch's channels: chosen in its run settings (checked at the door), each image judged
after it is saved (off the engine's loop, without OCR) and the verdicts and overrides kept in
the store (migration 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from atelier.core.errors import InputError
from atelier.core.models import JobSpec, RunSettings
from atelier.output.channels.batch import OnSave, channel_list
from atelier.store import Store
from tests.output.channels.images import photo, product, save
from tests.support.batches import store_batch


def _image(store: Store, tmp_path: Path, name: str, img_path: Path) -> int:
    rs = RunSettings(channels=["amazon", "rakuten"])
    bid = store_batch(store, rs, [JobSpec(prompt="p", output_path=name)], tmp_path, name=name)
    job = store.jobs(bid)[0]
    return store.add_image(job.id, 0, img_path, None)


def test_channels_are_checked_at_the_door() -> None:
    assert channel_list("Amazon, rakuten,amazon") == ["amazon", "rakuten"]
    with pytest.raises(InputError, match=r"--channels ebay.*no such channel.*amazon"):
        channel_list("amazon,ebay")
    assert RunSettings(channels=["Rakuten", "rakuten"]).channels == ["rakuten"]
    with pytest.raises(ValidationError, match="channels"):
        RunSettings(channels=["no such/channel"])


def test_an_image_is_judged_after_saving_and_its_verdicts_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    white = _image(store, tmp_path, "a.png", save(product(), tmp_path / "a.png"))
    scene = _image(store, tmp_path, "b.png", save(photo(), tmp_path / "b.png"))
    judge = OnSave()
    for image_id in (white, scene):
        judge.submit(store, image_id, store.image(image_id).path, ["amazon", "rakuten"])
    judge.drain(60)
    got = store.image_verdicts(white)
    assert set(got) == {"amazon", "rakuten"}
    assert got["amazon"].passed and not got["amazon"].ocr
    text = [r for r in got["rakuten"].rules if r["kind"] == "text_area"]
    assert text and text[0]["status"] == "not_checked"  # no OCR on save
    bad = store.image_verdicts(scene)["amazon"]
    assert not bad.passed and bad.unfixable and bad.blocked
    assert {r["kind"] for r in bad.failed_rules()} >= {"background_white"}
    # An override is kept when the image is judged again, and unblocks it.
    store.set_channel_override(scene, "amazon")
    judge.submit(store, scene, store.image(scene).path, ["amazon"])
    judge.drain(60)
    again = store.image_verdicts(scene)["amazon"]
    assert again.override and again.unfixable and not again.blocked
    assert set(store.verdicts(store.image(scene).batch_id)) == {scene}
    store.close()


def test_a_missing_file_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "s.db")
    image_id = _image(store, tmp_path, "gone.png", tmp_path / "gone.png")
    judge = OnSave()
    judge.submit(store, image_id, tmp_path / "gone.png", ["amazon"])
    judge.drain(60)
    assert store.image_verdicts(image_id) == {}
    assert "not judged" in caplog.text
    store.close()


class _ClearedBetween(dict[tuple[str, ...], object]):
    """The judge's profile cache as seen when ``drain`` (on another thread) clears it right
    after the judge asked whether it holds a batch's channels."""

    def __contains__(self, key: object) -> bool:
        held = super().__contains__(key)
        self.clear()
        return held


def test_a_drain_clearing_the_profiles_meanwhile_loses_no_verdict(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ids = [
        _image(store, tmp_path, f"{n}.png", save(product(), tmp_path / f"{n}.png"))
        for n in ("a", "b")
    ]
    judge = OnSave(pace=0)
    judge._profiles = _ClearedBetween()  # type: ignore[assignment]
    for image_id in ids:
        judge.submit(store, image_id, store.image(image_id).path, ["amazon"])
    judge.drain(60)
    assert all(set(store.image_verdicts(i)) == {"amazon"} for i in ids)
    store.close()


def _coded(store: Store, tmp_path: Path, values: dict[str, str]) -> int:
    """An image ``cup.png`` of a job made from a sheet row with ``values``."""
    path = save(product(), tmp_path / "cup.png")
    rs = RunSettings(channels=["yahoo"])
    spec = JobSpec(prompt="p", output_path="cup.png", row_values=values)
    bid = store_batch(store, rs, [spec], tmp_path, name=str(values), fingerprint=str(tmp_path))
    return store.add_image(store.jobs(bid)[0].id, 0, path, None)


def test_the_product_code_is_the_rows_not_the_files_name(tmp_path: Path) -> None:
    """Yahoo! Shopping wants image 1 named by the product code: the code is read from the
    job's sheet row (Variant SKU, SKU, code, 商品コード…), so a file named otherwise fails
    and its rendition takes the code's name; without a usable code the rule is not checked
    (a cell that is not one file name, ``../x``, is not used as one)."""
    from atelier.output.channels.batch import export_renditions, judge_image, profiles_of

    store = Store(tmp_path / "s.db")
    yahoo = profiles_of(["yahoo"])
    coded = _coded(store, tmp_path / "a", {"Title": "Cup", "Variant SKU": "NH-001"})
    (j,) = judge_image(store, coded, store.image(coded).path, yahoo)
    rule = next(r for r in j.results if r.kind == "file_name_code")
    assert (rule.status, rule.required) == ("failed", "NH-001")
    # A second image of the product (another job of the same row) takes code_1, not the same
    # name (Yahoo! Shopping's further images are code_1 … code_20).
    again = _coded(store, tmp_path / "c", {"Title": "Cup", "Variant SKU": "NH-001"})
    rows = [(store.image(i), f"{k}/cup.png") for k, i in (("a", coded), ("c", again))]
    done = export_renditions(store, rows, ["yahoo"], tmp_path / "x")
    assert done.written == {"yahoo": 2}
    assert (tmp_path / "x" / "yahoo" / "a" / "NH-001.png").is_file()
    assert (tmp_path / "x" / "yahoo" / "c" / "NH-001_1.png").is_file()
    for n, values in enumerate(({"Title": "Cup"}, {"商品コード": "../x"})):
        image_id = _coded(store, tmp_path / f"b{n}", values)
        (j,) = judge_image(store, image_id, store.image(image_id).path, yahoo)
        rule = next(r for r in j.results if r.kind == "file_name_code")
        assert rule.status == "not_checked", values
    store.close()
