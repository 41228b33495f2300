"""The template library between the pages: a library template shown on the sheet and batch
pages, the pages saved as a template, and the sample project opened with its starter template.
The box that asks is ``atelier.studio.widgets.library_box``; the library itself is
``atelier.sheet.library``. (Here, not in the box: the pages hold the box, and the box knowing
the pages made an import circle.)"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from PySide6.QtWidgets import QStatusBar

from atelier.core.errors import AtelierError, InputError
from atelier.core.i18n import tr
from atelier.core.models import problems_error, validation_problems
from atelier.delivery.forms import delivery_from_form
from atelier.sheet import library
from atelier.sheet.sample_project import sample_project
from atelier.studio.pages.batch import BatchPage
from atelier.studio.pages.sheet import SheetPage
from atelier.studio.tasks import when_done


def apply_template(t: library.BatchTemplate, sheet: SheetPage, batch: BatchPage) -> None:
    """Show a library template on the pages (templates on the sheet page, image settings on
    the batch page, its delivery in the Deliver section; one without a delivery leaves the
    section as it is)."""
    sheet.apply_template(t)
    batch.apply_defaults(t.settings)
    if t.delivery is not None:
        batch.deliver.apply(t.delivery)


def save_template(
    name: str, sheet: SheetPage, batch: BatchPage, report_error: Callable[[str], None]
) -> None:
    """Save the pages' prompt, negative prompt, file name, variations, image settings and
    delivery into the library as ``name``; what stops it goes to ``report_error``."""
    try:
        delivery, _notes = delivery_from_form(batch.deliver.form())
        t = library.BatchTemplate(
            name=name,
            prompt=sheet.prompt(),
            negative_prompt=sheet.negative(),
            filename=sheet.filename_edit.text(),
            settings=batch.defaults(),
            variations=sheet.variations(),
            delivery=delivery,
        )
    except InputError as e:
        report_error(tr("Not saved. {reason}").format(reason=e))
        return
    except ValidationError as e:
        report_error(
            tr("Not saved. {reason}").format(reason=problems_error("", validation_problems(e)))
        )
        return
    sheet.library.save(t)


def connect_library(
    sheet: SheetPage, batch: BatchPage, report_error: Callable[[str], None], status: QStatusBar
) -> None:
    """Wire the sheet page's library box to the pages it loads into and saves from."""
    box = sheet.library
    box.loaded.connect(lambda t: apply_template(t, sheet, batch))
    box.save_requested.connect(lambda name: save_template(name, sheet, batch, report_error))
    box.message.connect(lambda m: status.showMessage(m, 10_000))
    sheet.sample_requested.connect(lambda: open_sample(sheet, batch, report_error))


def open_sample(sheet: SheetPage, batch: BatchPage, report_error: Callable[[str], None]) -> None:
    """Load the sample project (in the system's language) with its starter template."""
    try:
        project = sample_project()
    except AtelierError as e:
        report_error(tr("The sample project cannot be read: {reason}").format(reason=e))
        return

    def imported(ok: bool) -> None:
        if ok:
            apply_template(project.template, sheet, batch)

    when_done(sheet.open_file(project.sheet), imported)
