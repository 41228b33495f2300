"""Judging one image against a channel: each rule of the profile passed, failed or not
checked, with the value measured (see ``profiles.py`` for the rule kinds).

Measurements are made once per image and only when a rule needs them: the layout
(``measure.analyse``) for background, fill, margins, top-left and frame rules; OCR
(``ocr.text_cells``) for the text area; the rest come from the file itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.output.channels.facts import Facts
from atelier.output.channels.profiles import Profile, Rule
from atelier.output.channels.rules import JUDGES, label

Status = Literal["passed", "failed", "not_checked"]

#: Pillow's format name → the extensions that name it.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe"),
    "png": (".png",),
    "gif": (".gif",),
    "webp": (".webp",),
    "tiff": (".tif", ".tiff"),
    "bmp": (".bmp",),
}


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict.

    Attributes:
        kind: the rule kind (``fill``, ``text_area``…).
        label: the rule in words, in the language in force.
        status: ``passed``, ``failed`` or ``not_checked``.
        measured: the value found, in words (``"0.72 of the frame"``), or why not checked.
        required: what the channel asks, in words.
        value: the measured value for machines (a number, a string or ``None``).
        fixable: whether ``--fix`` can meet the rule when it fails.
        source, read_on, as_of: where the rule comes from.
    """

    kind: str
    label: str
    status: Status
    measured: str
    required: str
    value: float | str | None
    fixable: bool
    source: str
    read_on: str
    as_of: str

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready values."""
        return dict(self.__dict__)


@dataclass
class Judgement:
    """An image judged against one channel."""

    path: str
    channel: str
    results: list[RuleResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No rule failed (a rule not checked does not fail the image)."""
        return not self.failed()

    def failed(self) -> list[RuleResult]:
        """The rules that failed."""
        return [r for r in self.results if r.status == "failed"]

    def unfixable(self) -> list[RuleResult]:
        """The failed rules no fix can meet."""
        return [r for r in self.results if r.status == "failed" and not r.fixable]

    def as_dict(self) -> dict[str, Any]:
        """The judgement as JSON-ready values."""
        return {
            "file": self.path,
            "channel": self.channel,
            "passed": self.passed,
            "rules": [r.as_dict() for r in self.results],
        }


def _result(
    rule: Rule,
    status: Status,
    measured: str,
    required: str,
    value: float | str | None,
    fixable: bool,
) -> RuleResult:
    return RuleResult(
        rule.kind,
        label(rule.kind),
        status,
        measured,
        required,
        value,
        fixable,
        rule.source,
        rule.read_on,
        rule.as_of.isoformat(),
    )


def judge(facts: Facts, profile: Profile, path: str, today: dt.date | None = None) -> Judgement:
    """Judge the image of ``facts`` against every rule of ``profile`` (rules not in force on
    ``today`` are listed as not checked, with the date they start or end)."""
    day = today or dt.date.today()
    out = Judgement(path, profile.id)
    for rule in profile.rule:
        if not rule.in_force(day):
            when = (
                tr("in force from {date}").format(date=rule.starts)
                if rule.starts and day < rule.starts
                else tr("in force until {date}").format(date=rule.ends)
            )
            out.results.append(_result(rule, "not_checked", when, "", None, False))
            continue
        status, measured, required, value, fixable = JUDGES[rule.kind](facts, rule)
        out.results.append(_result(rule, status, measured, required, value, fixable))
    return out


def open_image(path: Path) -> tuple[Image.Image, int]:
    """Open ``path`` and decode it fully; returns the image and the file's size in bytes.

    Raises:
        InputError: the file is missing, unreadable or not an image Pillow can decode
            (naming the file).
    """
    try:
        size = path.stat().st_size
        img = Image.open(path)
        img.load()
    except FileNotFoundError as e:
        raise InputError(str(path), tr("no such file")) from e
    except UnidentifiedImageError as e:
        raise InputError(str(path), tr("not an image Atelier can read")) from e
    except Image.DecompressionBombError as e:  # over twice Pillow's pixel limit
        raise InputError(
            str(path), tr("too many pixels to open safely ({reason})").format(reason=e)
        ) from e
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(str(path), tr("cannot be read ({reason})").format(reason=e)) from e
    return img, size


def check_file(
    path: Path,
    profile: Profile,
    *,
    code: str | None = None,
    use_ocr: bool = True,
    today: dt.date | None = None,
) -> Judgement:
    """Judge the image file ``path`` against ``profile``.

    Args:
        code: the product code the file should be named by (``file_name_code`` rules are not
            checked without it).
        use_ocr: measure the text area (slow: about a second per image); without it text
            rules are not checked.

    Raises:
        InputError: the file cannot be read as an image (naming it).
    """
    return check_channels(path, [profile], code=code, use_ocr=use_ocr, today=today)[0]


def check_channels(
    path: Path,
    profiles: list[Profile],
    *,
    code: str | None = None,
    use_ocr: bool = True,
    today: dt.date | None = None,
) -> list[Judgement]:
    """Judge ``path`` against each of ``profiles``, measuring (and reading text) once.

    Raises:
        InputError: the file cannot be read as an image (naming it).
    """
    img, size = open_image(path)
    facts = Facts(img, name=path.name, file_size=size, code=code, use_ocr=use_ocr)
    return [judge(facts, p, str(path), today) for p in profiles]
