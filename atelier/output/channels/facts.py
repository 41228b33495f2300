"""What is known about one image being judged: the file's own facts, and the layout and text
measured the first time a rule asks for them."""

from __future__ import annotations

import io
from functools import cached_property

from PIL import Image, ImageCms

from atelier.output.channels import ocr
from atelier.output.channels.measure import Layout, analyse


class Facts:
    """What is known about one image, each measurement made the first time a rule asks."""

    def __init__(
        self,
        img: Image.Image,
        *,
        name: str,
        file_size: int | None,
        code: str | None,
        use_ocr: bool,
    ) -> None:
        self.img = img
        self.name = name
        self.file_size = file_size
        self.code = code
        self.use_ocr = use_ocr
        self.format = (img.format or "").lower() or None
        self._text: ocr.TextFound | None = None
        self._ocr_done = False

    @cached_property
    def layout(self) -> Layout:
        """The layout (background, product box, frame bands)."""
        return analyse(self.img)

    def text(self, grid: int) -> ocr.TextFound | None:
        """OCR's text on a ``grid``×``grid`` division, ``None`` when OCR is off or missing."""
        if not self.use_ocr:
            return None
        if not self._ocr_done:
            self._text, self._ocr_done = ocr.text_cells(self.img, 10), True
        found = self._text
        if found is None or grid == found.grid:
            return found
        return ocr.TextFound(
            found.words, found.boxes, ocr.cells_of(list(found.boxes), self.img.size, grid), grid
        )

    @cached_property
    def icc_description(self) -> str | None:
        """The embedded ICC profile's description, ``""`` when unreadable, ``None`` when none."""
        data = self.img.info.get("icc_profile")
        if not data:
            return None
        try:
            return str(
                ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(data)))
            ).strip()
        except (OSError, ImageCms.PyCMSError, TypeError):
            return ""

    @cached_property
    def has_transparency(self) -> bool:
        """Whether any pixel is less than opaque."""
        img = self.img
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            low = img.convert("RGBA").getchannel("A").getextrema()[0]
            return isinstance(low, int | float) and low < 255
        return False
