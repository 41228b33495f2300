"""The sample project offered on an empty start page: a three-product sheet in Japanese or in
English (``atelier/resources/sample/``) and its starter template, made to run on the offline draft
provider."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atelier.core.i18n import system_language
from atelier.sheet.library import BatchTemplate, read_template

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "resources" / "sample"
SAMPLE_LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class SampleProject:
    """``sheet`` (a CSV file) and the ``template`` made for its columns; ``language``: en | ja."""

    language: str
    sheet: Path
    template: BatchTemplate


def sample_project(language: str | None = None) -> SampleProject:
    """The sample in ``language`` (default: the system's).

    Raises:
        InputError: a sample file is missing or broken (a damaged installation).
    """
    lang = language if language in SAMPLE_LANGUAGES else system_language()
    lang = lang if lang in SAMPLE_LANGUAGES else "en"  # no Chinese or Korean sheet yet
    template = read_template(SAMPLE_DIR / f"sample-{lang}.atelier-template.json")
    return SampleProject(lang, SAMPLE_DIR / f"products-{lang}.csv", template)
