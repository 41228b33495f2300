"""What the window shows of an image's channel verdicts (``atelier.store.channels``): the
tile's marks ("Amazon ✓ · Rakuten ✗", "✓?" when a rule was not checked), the tooltip's failed rules, and the viewer's table of
every rule with its measured value and result per channel."""

from __future__ import annotations

from functools import cache
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from atelier.core.i18n import N_, tr
from atelier.output.channels.profiles import load_profiles
from atelier.store import ChannelVerdict
from atelier.studio.models.roles import Index

RESULT_MARKS = {"passed": "✓", "failed": "✗", "not_checked": "–"}
_RESULT_TEXT = {"passed": N_("passes"), "failed": N_("fails"), "not_checked": N_("not checked")}
_FAILED = QColor("#c5221f")
_PASSED = QColor("#188038")


@cache
def _names() -> dict[str, str]:
    try:
        return {p.id: p.name for p in load_profiles().values()}
    except Exception:  # a broken user profile file: ids stand in (the CLI names the file)
        return {}


def channel_name(channel: str) -> str:
    """The channel's full name (``Rakuten Ichiba (image 1)``), its id when unknown."""
    return _names().get(channel, channel)


def short_name(channel: str) -> str:
    """The channel's name on a tile: its first word (``Rakuten``, ``Amazon``, ``Yahoo!``)."""
    return channel_name(channel).split(" ")[0]


def mark(v: ChannelVerdict) -> str:
    """✓ passed, ✓? passed every rule checked but some were not (the text, unread: a rule not
    checked is never shown as passed), ✗ failed (! when overridden), … not judged yet."""
    if v.passed is None:
        return "…"
    if v.passed:
        unread = any(r.get("status") == "not_checked" for r in v.rules)
        return RESULT_MARKS["passed"] + ("?" if unread else "")
    return "✗!" if v.override and v.unfixable else RESULT_MARKS["failed"]


def badges(verdicts: dict[str, ChannelVerdict]) -> str:
    """``Amazon ✓ · Rakuten ✗`` in the batch's channel order."""
    return " · ".join(f"{short_name(c)} {mark(v)}" for c, v in verdicts.items())


def failed_text(verdicts: dict[str, ChannelVerdict]) -> str:
    """The tooltip's lines: each failed channel and its failed rules with the values found,
    and a note when text was not read."""
    lines: list[str] = []
    for c, v in verdicts.items():
        failed = v.failed_rules()
        if failed:
            rules = "; ".join(f"{r['label']}: {r['measured']}" for r in failed)
            lines.append(tr("{channel} ✗ {rules}").format(channel=short_name(c), rules=rules))
            if v.override and v.unfixable:
                lines.append(
                    tr("{channel}: sent anyway (overridden)").format(channel=short_name(c))
                )
    if any(v.passed is not None and not v.ocr for v in verdicts.values()):
        lines.append(tr("text: not checked (Check text… reads it)"))
    return "\n".join(lines)


def failing(verdicts: dict[str, ChannelVerdict]) -> str:
    """`` amazon rakuten ``: the channels failed, space-delimited for the gallery's filter."""
    ids = [c for c, v in verdicts.items() if v.passed is False]
    return f" {' '.join(ids)} " if ids else ""


class ChannelRulesModel(QAbstractTableModel):
    """Every rule of every channel an image was judged against: channel, rule, measured
    value, what the channel requires and the result (red when failed). The failed rules of
    every channel come first, then those not checked, then the passed ones (each in channel
    order), so what is wrong is in sight without scrolling."""

    HEADERS = (N_("Channel"), N_("Rule"), N_("Measured"), N_("Required"), N_("Result"))

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, dict[str, Any]]] = []

    def set_verdicts(self, verdicts: dict[str, ChannelVerdict]) -> None:
        """Show these verdicts (channel → verdict), in order."""
        self.beginResetModel()
        order = {"failed": 0, "not_checked": 1, "passed": 2}
        rows = [(c, r) for c, v in verdicts.items() for r in v.rules]
        self.rows = sorted(rows, key=lambda cr: order.get(str(cr[1].get("status")), 1))
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        channel, rule = self.rows[index.row()]
        status = str(rule.get("status", ""))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            col = index.column()
            if col == 0:
                return short_name(channel)
            if col == 1:
                return str(rule.get("label", ""))
            if col == 2:
                return str(rule.get("measured", ""))
            if col == 3:
                return str(rule.get("required", ""))
            if col == 4:
                text = f"{RESULT_MARKS.get(status, '')} {tr(_RESULT_TEXT.get(status, status))}"
                if role == Qt.ItemDataRole.ToolTipRole and rule.get("source"):
                    return f"{text}\n{rule['source']}"
                return text
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 4:
            return {"failed": _FAILED, "passed": _PASSED}.get(status)
        return None
