"""Text area by OCR: Tesseract (through ``pytesseract``) finds words in English, Japanese,
Simplified and Traditional Chinese and Korean; their boxes are laid on the channel's grid
(Rakuten's 10×10: a cell any text touches counts).

Without the ``tesseract`` program, or without any of those languages' data, :func:`text_cells`
returns ``None`` and the rule says "not checked", never "passed". With some of them only, text
found over the limit fails the rule, and under it the rule is "not checked" (text in a script
whose data is missing would have gone unseen).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from PIL import Image

from atelier.output.channels.measure import flattened

LANGUAGES = ("eng", "jpn", "chi_sim", "chi_tra", "kor")
"""Tesseract's data names (Debian: tesseract-ocr-eng, -jpn, -chi-sim, -chi-tra, -kor)."""
MIN_CONFIDENCE = 60
"""Words Tesseract is less sure of than this (0–100) are taken for texture, not text."""
OCR_SIDE = 1600
"""Images are read at most this many px on the long side, then at half that (text smaller
than that scale is unreadable to a shopper too)."""


@dataclass(frozen=True)
class TextFound:
    """What OCR found: the words, their boxes (image pixels) and the grid cells they touch."""

    words: tuple[str, ...]
    boxes: tuple[tuple[int, int, int, int], ...]
    cells: frozenset[tuple[int, int]]
    grid: int

    @property
    def share(self) -> float:
        """Cells touched, as a share of all cells (0–1)."""
        return len(self.cells) / (self.grid * self.grid)


@cache
def available_languages() -> tuple[str, ...]:
    """The languages of ``LANGUAGES`` this machine's Tesseract has; empty without Tesseract."""
    try:
        import pytesseract

        have = set(pytesseract.get_languages(config=""))
    except Exception:  # not installed, not runnable, or no pytesseract: OCR is off
        return ()
    return tuple(lang for lang in LANGUAGES if lang in have)


def missing_languages() -> tuple[str, ...]:
    """The languages of ``LANGUAGES`` this machine's Tesseract lacks (empty: it has all, or
    there is no Tesseract at all, which ``text_cells`` says by returning ``None``)."""
    have = available_languages()
    return tuple(lang for lang in LANGUAGES if lang not in have) if have else ()


def _is_text(word: str) -> bool:
    # A letter, digit or CJK character; a lone punctuation mark is usually a misread edge.
    return any(ch.isalnum() for ch in word)


def cells_of(
    boxes: list[tuple[int, int, int, int]], size: tuple[int, int], grid: int
) -> frozenset[tuple[int, int]]:
    """The ``(column, row)`` cells of a ``grid``×``grid`` division of an image of ``size``
    that the ``(left, top, right, bottom)`` boxes touch."""
    w, h = size
    cells: set[tuple[int, int]] = set()
    for left, top, right, bottom in boxes:
        c0, c1 = int(left * grid // w), int((max(right, left + 1) - 1) * grid // w)
        r0, r1 = int(top * grid // h), int((max(bottom, top + 1) - 1) * grid // h)
        for c in range(max(0, c0), min(grid - 1, c1) + 1):
            for r in range(max(0, r0), min(grid - 1, r1) + 1):
                cells.add((c, r))
    return frozenset(cells)


def text_cells(img: Image.Image, grid: int) -> TextFound | None:
    """OCR ``img`` and map the words onto a ``grid``×``grid`` division.

    Returns:
        What was found, or ``None`` when OCR is not available here.
    """
    langs = available_languages()
    if not langs:
        return None

    rgb = flattened(img)
    words: list[str] = []
    boxes: list[tuple[int, int, int, int]] = []
    # Tesseract reads glyphs of about 20–40 px: a badge's 60 px letters are found at half
    # size, a caption's 15 px ones only at full size. Two passes, their words put together.
    first = min(1.0, OCR_SIDE / max(rgb.size))
    for factor in (first, first / 2):
        size = (max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor)))
        seen = rgb if size == rgb.size else rgb.resize(size, Image.Resampling.BICUBIC)
        for word, box in _read(seen, langs):
            words.append(word)
            boxes.append(tuple(int(v / factor) for v in box))  # type: ignore[arg-type]
    return TextFound(tuple(words), tuple(boxes), cells_of(boxes, img.size, grid), grid)


def _read(img: Image.Image, langs: tuple[str, ...]) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The confident words Tesseract finds in ``img`` and their ``(l, t, r, b)`` boxes."""
    import pytesseract

    # --psm 11: sparse text, in any order, anywhere in the image (a badge in a corner).
    data = pytesseract.image_to_data(
        img, lang="+".join(langs), config="--psm 11", output_type=pytesseract.Output.DICT
    )
    found: list[tuple[str, tuple[int, int, int, int]]] = []
    for i, word in enumerate(data["text"]):
        if float(data["conf"][i]) < MIN_CONFIDENCE or not _is_text(str(word)):
            continue
        left, top = int(data["left"][i]), int(data["top"][i])
        box = (left, top, left + int(data["width"][i]), top + int(data["height"][i]))
        found.append((str(word), box))
    return found
