"""The team's batches on the queue, as a table (``TeamPage``)."""

from __future__ import annotations

from datetime import UTC, datetime

from atelier.core.i18n import N_, tr
from atelier.studio.look.locale_format import local_datetime
from atelier.studio.models import BatchListModel, JobIdRole
from atelier.team.queue import STATE_LABELS, TeamBatch

TeamIdRole = JobIdRole
"""The team batch id (a UUID hex) of a row."""


class TeamModel(BatchListModel):
    """Team batches: name, submitted, by whom, provider/model, state, done/total, failed; a
    halted batch's reason and the count of its unreadable entries set aside as its tooltip."""

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
        lines = [b.reason] if b.reason else []
        if b.dead:  # malformed entries, on the dead-letter stream with their reasons
            lines.append(tr("{count} unreadable entries set aside").format(count=b.dead))
        return "\n".join(lines) or None
