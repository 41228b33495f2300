"""The template library: named batch templates (prompt, negative prompt, file name, image
settings and variations) kept as JSON files in ``ATELIER_HOME/templates``, imported and
exported as single files, plus a few starters from the seeds' patterns (product hero on white,
lifestyle scene, blog header, a social post per platform).

A saved template with a starter's name replaces that starter; deleting it brings the starter
back. Starters use the column names of a Shopify product export.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from atelier.core import paths
from atelier.core.delivery_config import (
    Delivery,
    added_targets,
    check_secrets,
    describe_target,
    shareable,
)
from atelier.core.errors import InputError
from atelier.core.files import atomic_write, read_json
from atelier.core.i18n import N_, tr
from atelier.core.models import JobDefaults, problems_error, validation_problems
from atelier.sheet.templates import safe_component

SUFFIX = ".atelier-template.json"
_VAR_NAME = re.compile(r"^[^{}\n]{1,64}$")


class BatchTemplate(BaseModel):
    """A named template.

    Attributes:
        name: shown in the library (file name made from it).
        prompt, negative_prompt, filename: ``{column}`` templates (see ``atelier.sheet.templates``).
        settings: the image settings every job gets.
        variations: ``{name: [values…]}``; each row is made once per combination of values,
            each value usable as ``{name}`` in the templates (see ``atelier.sheet.variations``).
        description: one line shown in the library.
        delivery: where its batches' images go (targets name their secrets, never hold them).
    """

    model_config = ConfigDict(extra="forbid")

    format: str = Field(default="atelier-template/1", pattern=r"^atelier-template/1$")
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    prompt: str = Field(min_length=1, max_length=32_000)
    negative_prompt: str = ""
    filename: str = ""
    settings: JobDefaults = Field(default_factory=JobDefaults)
    variations: dict[str, list[str]] = Field(default_factory=dict)
    delivery: Delivery | None = None

    @field_validator("variations")
    @classmethod
    def _check_variations(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, values in v.items():
            if not _VAR_NAME.match(name):
                raise ValueError(
                    tr("variation name {name!r}: 1–64 characters, no braces").format(name=name)
                )
            if not values or any(not x.strip() for x in values):
                raise ValueError(
                    tr("variation {name!r} needs values, none of them blank").format(name=name)
                )
        return v


def _folder() -> Path:
    return paths.home() / "templates"


def _file_of(name: str) -> Path:
    return _folder() / f"{safe_component(name) or 'template'}{SUFFIX}"


def _starter(
    name: str, description: str, prompt: str, filename: str, **kw: object
) -> BatchTemplate:
    return BatchTemplate.model_validate(
        {"name": name, "description": description, "prompt": prompt, "filename": filename, **kw}
    )


# Names and descriptions are marked for the catalogs: the library shows them translated, and
# the English name stays the key (``--template``, saved settings). Prompts stay English: every
# image model reads English best.
STARTERS: tuple[BatchTemplate, ...] = (
    _starter(
        N_("Product hero on white"),
        N_("A catalogue shot on seamless white, one per variant"),
        "Studio product photo of {Title} {Option1 Value}, centred on a seamless pure white "
        "background, soft diffused light, gentle contact shadow, sharp focus, e-commerce hero",
        "{Variant SKU}-hero",
        negative_prompt="text, watermark, logo, props, clutter, cropped product",
        settings={"size": "1024x1024", "quality": "high"},
    ),
    _starter(
        N_("Lifestyle scene"),
        N_("The product staged in three scenes (a variation)"),
        "{Title} {Option1 Value} on {scene}, natural window light, lifestyle photography, "
        "shallow depth of field",
        "{Variant SKU}-{scene}",
        settings={"size": "1536x1024", "quality": "medium"},
        variations={"scene": ["a marble table", "a linen tablecloth", "an outdoor café table"]},
    ),
    _starter(
        N_("Blog header 1200×630"),
        N_("A wide header; made at 1536×1024, keep the subject centred for a 1.91:1 crop"),
        "Editorial header image featuring {Title} {Option1 Value}, wide composition with calm negative space "
        "on both sides, subject centred, soft colour palette",
        "{Variant SKU}-blog-header",
        settings={"size": "1536x1024", "quality": "medium", "output_format": "jpeg"},
    ),
    _starter(
        N_("Social post per platform"),
        N_("One image per platform: square feed, portrait story, landscape link card"),
        "{Title} {Option1 Value}, eye-catching social media post composition for {platform}, "
        "bold and clean, no text",
        "{Variant SKU}-{platform}",
        settings={"size": "1024x1024", "quality": "medium"},
        variations={"platform": ["Instagram feed", "Instagram story", "Facebook link"]},
    ),
)


def list_templates() -> list[BatchTemplate]:
    """Every template: the saved ones (by name) and the starters not replaced by one.

    Unreadable files in the folder are skipped (``broken_files`` names them)."""
    saved = {t.name: t for t in _saved()[0]}
    starters = [s for s in STARTERS if s.name not in saved]
    return [*sorted(saved.values(), key=lambda t: t.name.casefold()), *starters]


def broken_files() -> list[str]:
    """Files in the library folder that are not valid templates, with the reason."""
    return _saved()[1]


def _saved() -> tuple[list[BatchTemplate], list[str]]:
    folder = _folder()
    if not folder.is_dir():
        return [], []
    good: list[BatchTemplate] = []
    bad: list[str] = []
    for p in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            good.append(read_template(p))
        except InputError as e:
            bad.append(str(e))
    return good, bad


def read_template(path: Path) -> BatchTemplate:
    """A template file (one the library wrote, or one to import).

    Raises:
        InputError: naming the file and every bad field.
    """
    raw = read_json(path, N_("template"))
    try:
        template = BatchTemplate.model_validate(raw)
    except ValidationError as e:
        raise problems_error(f"{path}: ", validation_problems(e)) from e
    if template.delivery is not None:
        try:
            check_secrets(template.delivery)
        except InputError as e:
            raise InputError(str(path), str(e)) from None
    return template


class TemplateDeliveryError(InputError):
    """A template's delivery would add targets the user has not accepted.

    Attributes:
        targets: one line per added target, its kind and host (``cms → cms.example.com``).
    """

    def __init__(self, where: str, targets: list[str], how: str) -> None:
        lines = "".join(f"\n  {line}" for line in targets)
        super().__init__(
            where,
            tr(
                "its delivery adds targets that would receive your images and use your "
                "credentials of their kind:{targets}\n{how}"
            ).format(targets=lines, how=how),
        )
        self.targets = targets


def delivery_to_accept(template: BatchTemplate, against: Delivery | None = None) -> list[str]:
    """The targets ``template``'s delivery adds to ``against`` (none: all of them), one
    ``kind → host`` line each; empty when it adds none."""
    return [describe_target(t) for t in added_targets(template.delivery, against)]


def saved_delivery(name: str) -> Delivery | None:
    """The delivery of the saved template called ``name`` (``None``: none saved, or none)."""
    path = _file_of(name)
    if not path.is_file():
        return None
    try:
        return read_template(path).delivery
    except InputError:
        return None


def load_template(name: str) -> BatchTemplate:
    """The template called ``name`` (a saved one before a starter).

    Raises:
        InputError: no template has that name (the message lists the names there are).
    """
    for t in list_templates():
        if t.name == name:
            return t
    names = ", ".join(t.name for t in list_templates())
    raise InputError(
        tr("template {name!r}").format(name=name),
        tr("no such template (the library has: {names})").format(names=names),
    )


def save_template(template: BatchTemplate) -> Path:
    """Write ``template`` into the library (replacing one of the same name); returns its file.

    Raises:
        OutputError: the library folder cannot be written.
    """
    path = _file_of(template.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, _dump(template))
    return path


def delete_template(name: str) -> bool:
    """Remove a saved template (a starter of that name comes back). Returns whether one was."""
    path = _file_of(name)
    if path.is_file():
        path.unlink()
        return True
    return False


def import_template(path: Path, accept_delivery: bool = False) -> BatchTemplate:
    """Check the template file at ``path`` and save it into the library. A delivery that adds
    targets to the saved template of the same name (or any, when there is none) is taken only
    with ``accept_delivery``: a shared file must not start sending the user's images and
    credentials anywhere without a yes.

    Raises:
        TemplateDeliveryError: it adds targets and ``accept_delivery`` is off (the message and
            ``targets`` list each one's kind and host).
        InputError: the file is not a valid template; OutputError: the library cannot be written.
    """
    template = read_template(path)
    added = delivery_to_accept(template, saved_delivery(template.name))
    if added and not accept_delivery:
        raise TemplateDeliveryError(
            str(path),
            added,
            tr("Not imported. Import it with --accept-template-delivery to accept them."),
        )
    save_template(template)
    return template


def export_template(name: str, path: Path) -> Path:
    """Write the template called ``name`` to ``path`` (a file to share), its delivery without
    secrets (``atelier.core.delivery_config.shareable``: no keyring entry names, access key ids, Slack
    address or credential in an address or header).

    Raises:
        InputError: no such template; OutputError: ``path`` cannot be written.
    """
    template = load_template(name)
    atomic_write(path, _dump(template, shared=True))
    return path


def _dump(template: BatchTemplate, shared: bool = False) -> bytes:
    doc = template.model_dump(mode="json")
    if shared and template.delivery is not None:
        doc["delivery"] = shareable(template.delivery)
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
