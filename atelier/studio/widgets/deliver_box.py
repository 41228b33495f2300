"""The batch page's Deliver section: where images go once written or picked (S3, a webhook,
Slack, a CMS call, Shopify), as made or after review, and the keyring entries those targets
read. The fields become a ``Delivery`` in ``atelier.delivery.forms``; this box only shows them."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.delivery_config import Delivery
from atelier.core.i18n import N_, tr
from atelier.core.secrets import set_secret
from atelier.delivery.forms import DeliveryForm, form_from_delivery, secret_entries
from atelier.studio import a11y
from atelier.studio.look.fit import fit_placeholder

_FIELDS = (
    # attribute, label, placeholder
    ("s3_bucket", N_("S3 bucket"), N_("my-shop-images (empty: no upload)")),
    ("s3_key", N_("Object key"), "{Vendor}/{file}"),
    (
        "s3_endpoint",
        N_("Endpoint URL"),
        N_("https://<account>.r2.cloudflarestorage.com (AWS: empty)"),
    ),
    ("s3_region", N_("Region"), "us-east-1"),
    (
        "s3_public_url",
        N_("Public URL"),
        N_("https://cdn.example.com/{key} (default: the bucket's)"),
    ),
    ("s3_access_key_id", N_("Access key ID"), N_("empty: the AWS credential chain")),
    ("webhook_url", N_("Webhook URL"), "https://example.com/hooks/atelier"),
    ("slack_url", N_("Slack webhook"), "https://hooks.slack.com/services/…"),
    ("cms_url", N_("CMS URL"), "https://cms.example.com/api/products/{SKU}"),
    ("cms_body", N_("CMS body"), '{"image_url": "{url}"}'),
    ("shopify_shop", N_("Shopify store"), N_("my-shop (attaches picked images by Handle)")),
)


class DeliverBox(QGroupBox):
    """The Deliver section of the batch page.

    Signals:
        changed(): a field changed (the estimate checks the templates against the sheet).
        message(str): something for the status bar (a secret saved).
    """

    changed = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(tr("Deliver — where images go once made"), parent)
        self.setObjectName("deliver_box")
        outer = QVBoxLayout(self)
        form = QFormLayout()
        # Its dozen rows sit tight: the batch page beside them holds the channels' check boxes
        # and must not scroll at 1280×800 in any language (tests/studio/test_text_fits.py).
        form.setVerticalSpacing(3)
        outer.addLayout(form)
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("deliver_mode")
        self.mode_combo.addItem(tr("Deliver as made"), False)
        self.mode_combo.addItem(tr("Deliver after review (picked images only)"), True)
        self.mode_combo.currentIndexChanged.connect(self.changed)
        form.addRow(tr("When"), self.mode_combo)
        self.edits: dict[str, QLineEdit] = {}
        self._loaded: DeliveryForm | None = None  # the template's, for what the box doesn't show
        for attr, label, hint in _FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"deliver_{attr}")
            edit.setPlaceholderText(tr(hint))
            edit.textChanged.connect(self.changed)
            if attr == "slack_url":  # the address is itself a credential
                edit.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
            self.edits[attr] = edit
            if attr == "cms_url":  # the row label names the row, not the edit inside it
                a11y.name(edit, tr(label))
                form.addRow(tr(label), self._cms_row(edit))
            else:
                form.addRow(tr(label), edit)
        self.edits["s3_key"].setText("{file}")
        self.edits["cms_body"].setText('{"image_url": "{url}"}')
        outer.addLayout(self._secret_row())
        for edit in self.edits.values():
            edit.textChanged.connect(self._refresh_secrets)
        self._refresh_secrets()

    def _cms_row(self, edit: QLineEdit) -> QWidget:
        self.cms_method = QComboBox()
        self.cms_method.setObjectName("deliver_cms_method")
        a11y.name(self.cms_method, tr("HTTP method"))
        self.cms_method.addItems(["PATCH", "PUT", "POST"])
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.cms_method)
        row.addWidget(edit, 1)
        w = QWidget()
        w.setLayout(row)
        return w

    def _secret_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Secret")))
        self.secret_combo = QComboBox()
        self.secret_combo.setObjectName("deliver_secret_entry")
        row.addWidget(self.secret_combo, 1)
        self.secret_edit = QLineEdit()
        self.secret_edit.setObjectName("deliver_secret_value")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(tr("kept in the keyring, never in a file"))
        fit_placeholder(self.secret_edit)
        row.addWidget(self.secret_edit, 1)
        self.secret_button = QPushButton(tr("Save to keyring"))
        self.secret_button.setObjectName("deliver_secret_save")
        self.secret_button.clicked.connect(self.save_secret)
        row.addWidget(self.secret_button)
        return row

    # ---- public API --------------------------------------------------------------------------
    def form(self) -> DeliveryForm:
        """The fields as plain values (read on the GUI thread)."""
        text = {attr: e.text() for attr, e in self.edits.items()}
        kept = self._loaded.slack_kept if self._loaded else None
        others = self._loaded.others if self._loaded else ()
        return DeliveryForm(
            **text,
            cms_method=self.cms_method.currentText(),
            after_review=bool(self.mode_combo.currentData()),
            slack_kept=kept,
            others=others,
        )

    def apply(self, delivery: Delivery | None) -> None:
        """Show a template's delivery (``None``: nothing delivered)."""
        f = form_from_delivery(delivery)
        for attr, edit in self.edits.items():
            edit.setText(str(getattr(f, attr)))
        self.cms_method.setCurrentText(f.cms_method)
        self.mode_combo.setCurrentIndex(1 if f.after_review else 0)
        self._loaded = f
        shown = f.slack_kept.shown if f.slack_kept else ""
        self.edits["slack_url"].setPlaceholderText(
            tr("saved in the keyring: {shown} (type a new address to replace it)").format(
                shown=shown
            )
            if f.slack_kept
            else tr(_FIELDS[7][2])
        )

    def save_secret(self) -> None:
        """Store the typed secret under the chosen keyring entry and clear the field."""
        entry = self.secret_combo.currentData()
        value = self.secret_edit.text().strip()
        if not entry or not value:
            self.message.emit(tr("Choose an entry and type its secret first."))
            return
        kept = set_secret(str(entry), value)
        self.secret_edit.clear()
        self.message.emit(
            tr("Saved {entry} in the keyring.").format(entry=self.secret_combo.currentText())
            if kept
            else tr("No keyring here: the secret is kept until Atelier quits.")
        )

    def _refresh_secrets(self) -> None:
        current = self.secret_combo.currentData()
        self.secret_combo.blockSignals(True)
        self.secret_combo.clear()
        for label, entry in secret_entries(self.form()):
            self.secret_combo.addItem(label, entry)
        i = self.secret_combo.findData(current)
        self.secret_combo.setCurrentIndex(max(0, i))
        self.secret_combo.blockSignals(False)
        has = self.secret_combo.count() > 0
        for w in (self.secret_combo, self.secret_edit, self.secret_button):
            w.setEnabled(has)
