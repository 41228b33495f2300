"""The team's batches on the queue, as a table (``TeamPage``)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.i18n import N_, tr
from app.team.queue import STATE_LABELS, TeamBatch
from ui.locale_format import local_datetime
from ui.models import BatchListModel, JobIdRole

TeamIdRole = JobIdRole
"""The team batch id (a UUID hex) of a row."""


class TeamModel(BatchListModel):
    """Team batches: name, submitted, by whom, provider/model, state, done/total, failed; a
    halted batch's reason as its tooltip."""

    COLUMNS = (
        N_("Batch"),
        N_("Submitted"),
        N_("By"),
        N_("Provider"),
        N_("State"),
        N_("Done"),
        N_("Failed"),
    )

    def cells(self, b: TeamBatch) -> tuple[str, ...]:
        submitted = datetime.fromtimestamp(b.submitted, UTC).isoformat()
        return (
            f"{b.name} · {b.id[:8]}",
            local_datetime(submitted),
            b.submitter,
            f"{b.provider} / {b.model}",
            tr(STATE_LABELS.get(b.state, b.state)),
            f"{b.done}/{b.total}",
            str(b.failed),
        )

    def tooltip(self, b: TeamBatch) -> str | None:
        return b.reason or None
