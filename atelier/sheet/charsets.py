"""Which encoding a spreadsheet is in: the ones Shopify and Excel users really send.

UTF-8 (with or without BOM) is tried first, strictly; UTF-16 is told by its BOM or its NUL
bytes; anything else is detected with charset-normalizer among the CJK and Western code pages
designers meet (Shift_JIS/CP932, GBK/GB18030, Big5, EUC-KR/CP949, Windows-1252).
"""

from __future__ import annotations

import re
from pathlib import Path

from charset_normalizer import from_bytes

from atelier.core.errors import InputError
from atelier.core.files import read_bytes
from atelier.core.i18n import N_, tr

#: Code pages offered to the detector and to the user's override menu.
CANDIDATE_ENCODINGS: tuple[str, ...] = (
    "utf_8",
    "cp932",
    "shift_jis",
    "euc_jp",
    "gb18030",
    "gbk",
    "big5",
    "cp949",
    "euc_kr",
    "cp1252",
    "latin_1",
    "utf_16",
)


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf_16_le``/``utf_16_be`` for UTF-16 text saved without a BOM: text in any script
    has a NUL in most high (or low) bytes of its first kilobytes, no 8-bit encoding does."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    pairs = len(sample) // 2
    odd = sum(1 for b in sample[1 : 2 * pairs : 2] if b == 0)
    even = sum(1 for b in sample[0 : 2 * pairs : 2] if b == 0)
    for enc, nuls, other in (("utf_16_le", odd, even), ("utf_16_be", even, odd)):
        if nuls > pairs * 0.3 and other < pairs * 0.05:
            try:
                data[: 2 * (len(data) // 2)].decode(enc)
            except UnicodeDecodeError:
                continue
            return enc
    return None


def detect_encoding(data: bytes) -> str:
    """Best encoding for ``data`` (a Python codec name).

    UTF-8 wins whenever the bytes decode as UTF-8; a BOM gives ``utf_8_sig`` (or ``utf_16``);
    UTF-16 without a BOM is told by its NUL bytes (Excel's "Unicode Text" is UTF-16). Otherwise
    charset-normalizer judges a sample cut at a line end (a cut inside a double-byte character
    would make every CJK code page look wrong), and the guess must decode the whole file;
    when it does not, the CJK code pages are tried in turn.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf_8_sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf_16"  # the codec reads the BOM and drops it
    utf16 = _utf16_without_bom(data)
    if utf16:
        return utf16
    try:
        data.decode("utf-8")
        return "utf_8"
    except UnicodeDecodeError:
        pass
    sample = data[:262_144]
    if len(data) > len(sample) and b"\n" in sample:
        sample = sample[: sample.rfind(b"\n") + 1]
    best = from_bytes(
        sample, cp_isolation=[e for e in CANDIDATE_ENCODINGS if not e.startswith("utf")]
    ).best()
    # Decode with the superset code page: cp932 ⊃ shift_jis, gb18030 ⊃ gbk, cp949 ⊃ euc_kr.
    superset = {"shift_jis": "cp932", "gbk": "gb18030", "gb2312": "gb18030", "euc_kr": "cp949"}
    guesses = [superset.get(str(best.encoding), str(best.encoding))] if best is not None else []
    for enc in [*guesses, "cp932", "gb18030", "big5", "cp949", "cp1252"]:
        try:
            data.decode(enc)
            return enc
        except (UnicodeDecodeError, LookupError):
            continue
    return "latin_1"  # decodes anything; the user can pick the right one


def decoded_text(path: Path, encoding: str | None) -> tuple[str, str]:
    """The text of ``path`` (BOM and NUL characters removed) and the codec it was read with.

    A BOM after leading whitespace or blank lines (some exporters write a newline first) is
    removed too, and the blank lines are kept so line numbers stay the file's.

    Raises:
        InputError: the file cannot be read or decoded, or holds nothing.
    """
    data = read_bytes(path, N_("spreadsheet"))
    enc = encoding or detect_encoding(data)
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as e:
        raise InputError(
            str(path), tr("cannot decode as {encoding}: {reason}").format(encoding=enc, reason=e)
        ) from e
    late_bom = _LATE_BOM.match(text)
    if late_bom:
        text = "\n" * late_bom.group(0).count("\n") + text[late_bom.end() :]
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.strip():
        raise InputError(str(path), tr("the file is empty"))
    return text, enc


_LATE_BOM = re.compile(r"\s*\ufeff")
