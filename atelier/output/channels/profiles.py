"""Channel profiles: each marketplace's image rules as dated, sourced data.

The built-in profiles ship in ``profiles.toml`` next to this module; a user adds or overrides
profiles with files of the same shape in ``ATELIER_HOME/channels/*.toml`` (a profile with a
built-in's ``id`` replaces it). Every file is validated by the models below; a bad one raises
:class:`~atelier.core.errors.InputError` naming the file and the field.

Rule kinds and the fields each reads (sizes in pixels, file sizes in bytes, shares 0–1):

======================== ==========================================================
``background_white``     ``min``: share of the border strip that must be white
``background_white_or_photo`` a plain backdrop must be white; a photo passes
``fill``                 ``min``: the product's box, longer of width/height shares
``centred``              ``max``: the box's centre offset from the image's, share
``margins``              ``min``: free space on each side, share of that dimension
``top_left_empty``       ``min``: side of the top-left square kept free, share
``text_area``            ``max``: share of the ``grid``×``grid`` cells text touches
``no_frame``             no frame, L-shape or bands along two or more sides
``min_long_side``        ``min`` px on the longer side
``min_short_side``       ``min`` px on the shorter side (so on both)
``max_size``             ``width``, ``height``: the largest accepted pixel size
``megapixels``           ``max`` MP
``aspect``               ``ratio`` "W:H", ``tolerance`` (default 1 %)
``file_size``            ``max`` bytes
``formats``              ``formats``: Pillow format names in lower case
``extension_matches``    the file's extension names its format
``colour_profile``       an sRGB ICC profile or none
``no_transparency``      no pixel less than opaque
``file_name_code``       the file is named by the product code
======================== ==========================================================

Every rule carries ``source`` (URL), ``read_on`` (``marketplace`` or ``third_party``),
``as_of`` (the day it was read), ``verified`` and ``note``; ``from``/``until`` date a rule
that starts or ends (Google's 500×500 minimum from 2027-01-31).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from atelier.core import paths
from atelier.core.errors import InputError
from atelier.core.i18n import tr

RuleKind = Literal[
    "background_white",
    "background_white_or_photo",
    "fill",
    "centred",
    "margins",
    "top_left_empty",
    "text_area",
    "no_frame",
    "min_long_side",
    "min_short_side",
    "max_size",
    "megapixels",
    "aspect",
    "file_size",
    "formats",
    "extension_matches",
    "colour_profile",
    "no_transparency",
    "file_name_code",
]

#: The fields each kind needs (the rest are optional or unused).
_NEEDS: dict[str, tuple[str, ...]] = {
    "fill": ("min",),
    "centred": ("max",),
    "margins": ("min",),
    "top_left_empty": ("min",),
    "text_area": ("max",),
    "min_long_side": ("min",),
    "min_short_side": ("min",),
    "max_size": ("width", "height"),
    "megapixels": ("max",),
    "aspect": ("ratio",),
    "file_size": ("max",),
    "formats": ("formats",),
}

FORMATS = ("jpeg", "png", "gif", "webp", "tiff", "bmp")
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


class Rule(BaseModel):
    """One rule of a channel, with where it comes from."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: RuleKind
    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    ratio: str | None = None
    tolerance: float = Field(0.01, ge=0, le=0.5)
    grid: int = Field(10, ge=1, le=100)
    formats: list[Literal["jpeg", "png", "gif", "webp", "tiff", "bmp"]] = []
    source: str = Field(min_length=1)
    read_on: Literal["marketplace", "third_party"]
    as_of: dt.date
    verified: bool
    note: str = ""
    starts: dt.date | None = Field(None, alias="from")
    ends: dt.date | None = Field(None, alias="until")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Rule:
        missing = [f for f in _NEEDS.get(self.kind, ()) if getattr(self, f) in (None, [])]
        if missing:
            raise ValueError(f"a {self.kind} rule needs {', '.join(missing)}")
        if self.ratio is not None and not _RATIO.match(self.ratio):
            raise ValueError(f"ratio {self.ratio!r} is not W:H")
        return self

    def aspect_value(self) -> float:
        """``ratio`` as width / height (``"4:5"`` → 0.8)."""
        m = _RATIO.match(self.ratio or "")
        if not m or float(m.group(2)) == 0:
            raise ValueError(f"ratio {self.ratio!r} is not W:H")
        return float(m.group(1)) / float(m.group(2))

    def in_force(self, day: dt.date) -> bool:
        """Whether the rule applies on ``day`` (between ``from`` and ``until``, inclusive)."""
        return (self.starts is None or day >= self.starts) and (
            self.ends is None or day <= self.ends
        )


class Render(BaseModel):
    """How ``--fix`` renders for the channel (Atelier's choice, not a marketplace rule):
    ``format`` when the source's is not accepted, an exact ``width``×``height`` when given,
    and the first JPEG quality to try."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["jpeg", "png", "gif", "webp", "tiff", "bmp"] = "jpeg"
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    quality: int = Field(92, ge=30, le=100)


class Profile(BaseModel):
    """A channel: its id (``--channel`` takes it), its name, its rules and how to render."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    as_of: dt.date
    recommended: str = ""
    render: Render = Render()
    rule: list[Rule] = []
    origin: str = ""
    """The file the profile came from (set when loaded)."""

    def rules(self, kind: str) -> list[Rule]:
        """The rules of ``kind``."""
        return [r for r in self.rule if r.kind == kind]

    @property
    def built_in(self) -> bool:
        """Whether the profile ships with Atelier."""
        return self.origin == BUILT_IN


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: list[Profile]


BUILT_IN = "built-in"


def _where(error: ValidationError, doc: dict[str, object]) -> str:
    """The first failing field as ``channel[2] (amazon).rule[3].min``."""
    first = error.errors()[0]
    parts: list[str] = []
    loc = list(first["loc"])
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
            if i == 1 and loc[0] == "channel":
                channels = doc.get("channel")
                if isinstance(channels, list) and part < len(channels):
                    entry = channels[part]
                    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                        parts[-1] += f" ({entry['id']})"
        else:
            parts.append(str(part))
    return ".".join(parts)


def parse_profiles(text: str, origin: str) -> list[Profile]:
    """The profiles of one TOML document.

    Raises:
        InputError: not TOML, or a field that does not fit (named with its place, e.g.
            ``mine.toml: channel[0] (shop).rule[1].max: …``).
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(origin, tr("not a valid TOML file ({reason})").format(reason=e)) from e
    try:
        parsed = _File.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        raise InputError(f"{origin}: {_where(e, doc)}", first["msg"]) from e
    for p in parsed.channel:
        p.origin = origin
    ids = [p.id for p in parsed.channel]
    if dup := sorted({i for i in ids if ids.count(i) > 1}):
        raise InputError(origin, tr("channel id {id!r} appears twice").format(id=dup[0]))
    return parsed.channel


@cache
def built_in_profiles() -> tuple[Profile, ...]:
    """The profiles shipped with Atelier (``profiles.toml``), read once."""
    text = resources.files(__package__).joinpath("profiles.toml").read_text("utf-8")
    return tuple(parse_profiles(text, BUILT_IN))


def user_dir() -> Path:
    """Where a user's own profiles live: ``ATELIER_HOME/channels``."""
    return paths.home() / "channels"


def load_profiles(folder: Path | None = None) -> dict[str, Profile]:
    """Every profile by id: the built-in ones, then each ``*.toml`` of ``folder`` (default
    :func:`user_dir`) in name order, a later one replacing an earlier one of the same id.

    Raises:
        InputError: a user file cannot be read or does not fit (naming file and field).
    """
    out = {p.id: p for p in built_in_profiles()}
    folder = user_dir() if folder is None else folder
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise InputError(str(path), tr("cannot be read ({reason})").format(reason=e)) from e
            for p in parse_profiles(text, str(path)):
                out[p.id] = p
    return out


def profile(channel: str, folder: Path | None = None) -> Profile:
    """The profile of ``channel`` (its id, case-insensitive).

    Raises:
        InputError: no such channel (the message lists the known ones), or a bad user file.
    """
    profiles = load_profiles(folder)
    found = profiles.get(channel.strip().lower())
    if found is None:
        raise InputError(
            f"--channel {channel}",
            tr("no such channel (known: {ids})").format(ids=", ".join(sorted(profiles))),
        )
    return found
