"""The batch page's channel choice: one check box per channel profile (built-in and the
user's own); the batch's images are judged against the checked ones as they are saved."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QGridLayout, QWidget

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.output.channels.profiles import Profile, load_profiles
from atelier.studio import a11y

COLUMNS = 3


class ChannelPicker(QWidget):
    """Check boxes named by each channel (``check_<id>``), in the profiles' order."""

    def __init__(self, changed: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.setObjectName("channel_picker")
        a11y.name(self, tr("Channels"))
        self.setToolTip(
            tr(
                "Each image is checked against these marketplaces' image rules as it is "
                "saved; the gallery marks what fails, export and delivery write one "
                "rendition per channel."
            )
        )
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.checks: dict[str, QCheckBox] = {}
        try:
            profiles: list[Profile] = list(load_profiles().values())
        except InputError as e:  # a broken user file: the built-in ones still offered
            from atelier.output.channels.profiles import built_in_profiles

            profiles = list(built_in_profiles())
            self.setToolTip(f"{self.toolTip()}\n{e}")
        for i, p in enumerate(profiles):
            box = QCheckBox(p.name)
            box.setObjectName(f"check_{p.id}")
            a11y.name(box, tr("Channel: {name}").format(name=p.name))
            if changed is not None:
                box.toggled.connect(changed)
            grid.addWidget(box, i // COLUMNS, i % COLUMNS)
            self.checks[p.id] = box

    def chosen(self) -> list[str]:
        """The checked channels' ids."""
        return [c for c, box in self.checks.items() if box.isChecked()]

    def set_chosen(self, channels: list[str]) -> None:
        """Check exactly ``channels`` (ids not offered are ignored)."""
        for c, box in self.checks.items():
            box.setChecked(c in channels)
