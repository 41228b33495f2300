"""An image goes to a channel with a text rule only once its text was read: saving judges
without OCR (it is slow), so delivery reads it first, and text over the channel's share keeps
the image from that channel (a rule no fix can meet) unless the designer overrides it."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier.core.models import JobSpec, RunSettings
from atelier.delivery.base import DeliveryError
from atelier.delivery.channels import rendition
from atelier.output.channels import ocr
from atelier.output.channels.batch import judge_image, profiles_of
from atelier.store import Store
from tests.output.channels.images import badges, save
from tests.support.batches import store_batch

pytestmark = pytest.mark.skipif(
    "jpn" not in ocr.available_languages(), reason="tesseract-ocr-jpn is not installed"
)


def test_text_is_read_before_an_image_goes_to_rakuten(tmp_path: Path, atelier_home: Path) -> None:
    out = tmp_path / "out"
    save(badges(), out / "p.png")
    store = Store(tmp_path / "s.db")
    rs = RunSettings(channels=["rakuten"])
    bid = store_batch(store, rs, [JobSpec(prompt="p", output_path="p.png")], out)
    (job,) = store.jobs(bid)
    image_id = store.add_image(job.id, 0, out / "p.png", None)
    judge_image(store, image_id, out / "p.png", profiles_of(rs.channels))  # as on save: no OCR
    assert store.image_verdicts(image_id)["rakuten"].passed  # text "not checked" passes

    with pytest.raises(DeliveryError, match="not delivered to rakuten") as refused:
        rendition(store, store.image(image_id), {"file": "p.png"}, "rakuten")
    assert not refused.value.retryable
    stored = store.image_verdicts(image_id)["rakuten"]
    assert stored.ocr and stored.unfixable and not stored.passed  # the gallery's mark follows

    store.set_channel_override(image_id, "rakuten")
    path, values = rendition(store, store.image(image_id), {"file": "p.png"}, "rakuten")
    assert path.is_file() and values["channel"] == "rakuten"
    store.close()
