"""Each image's verdict per channel (``atelier.output.channels``) and the designer's overrides.

The store keeps what the checker said as plain values (it sits below ``output``): per image
and channel, whether it passed, whether a rule no fix can meet failed, whether text was read,
and each rule's result as the checker's ``RuleResult.as_dict()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from atelier.store.db import Database, now_iso


@dataclass(frozen=True)
class ChannelVerdict:
    """An image judged against one channel, as stored.

    Attributes:
        channel: the profile's id.
        passed: no rule failed (``None``: not judged yet, only an override is stored).
        unfixable: a failed rule no fix can meet.
        ocr: the text area was measured (else text rules say "not checked").
        rules: each rule's result (``RuleResult.as_dict()``: kind, label, status, measured,
            required, value, fixable, source, read_on, as_of).
        override: the designer sends it to the channel despite an unfixable rule.
    """

    channel: str
    passed: bool | None
    unfixable: bool = False
    ocr: bool = False
    rules: list[dict[str, Any]] = field(default_factory=list)
    override: bool = False

    def failed_rules(self) -> list[dict[str, Any]]:
        """The rules that failed."""
        return [r for r in self.rules if r.get("status") == "failed"]

    @property
    def blocked(self) -> bool:
        """Not to be exported or delivered to the channel: an unfixable rule fails and the
        designer has not overridden it."""
        return self.unfixable and not self.override


class ChannelStore(Database):
    """The ``image_channels`` table (see the module docstring)."""

    def set_verdicts(self, image_id: int, verdicts: list[dict[str, Any]], ocr: bool) -> None:
        """Store ``image_id``'s verdicts, each ``Judgement.as_dict()``-like (``channel``,
        ``passed``, ``rules``), keeping any override; ``ocr``: text was read."""
        with self.tx() as db:
            for v in verdicts:
                rules = list(v["rules"])
                unfixable = any(r["status"] == "failed" and not r["fixable"] for r in rules)
                db.execute(
                    "INSERT INTO image_channels(image_id, channel, passed, unfixable, ocr,"
                    " rules_json, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(image_id, channel) DO UPDATE SET passed=excluded.passed,"
                    " unfixable=excluded.unfixable, ocr=excluded.ocr,"
                    " rules_json=excluded.rules_json, checked_at=excluded.checked_at",
                    (
                        image_id,
                        v["channel"],
                        bool(v["passed"]),
                        unfixable,
                        ocr,
                        json.dumps(rules, ensure_ascii=False),
                        now_iso(),
                    ),
                )

    def set_channel_override(self, image_id: int, channel: str, on: bool = True) -> None:
        """Send (``on``) or stop sending ``image_id`` to ``channel`` despite an unfixable rule."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO image_channels(image_id, channel, override) VALUES (?, ?, ?)"
                " ON CONFLICT(image_id, channel) DO UPDATE SET override=excluded.override",
                (image_id, channel, on),
            )

    def verdicts(self, batch_id: int) -> dict[int, dict[str, ChannelVerdict]]:
        """Every stored verdict of a batch's images: image id → channel → verdict."""
        rows = self._q(
            "SELECT c.* FROM image_channels c JOIN images i ON i.id = c.image_id"
            " JOIN jobs j ON j.id = i.job_id WHERE j.batch_id=?",
            (batch_id,),
        )
        out: dict[int, dict[str, ChannelVerdict]] = {}
        for r in rows:
            out.setdefault(int(r["image_id"]), {})[r["channel"]] = _verdict(r)
        return out

    def image_verdicts(self, image_id: int) -> dict[str, ChannelVerdict]:
        """One image's verdicts by channel."""
        rows = self._q("SELECT * FROM image_channels WHERE image_id=?", (image_id,))
        return {r["channel"]: _verdict(r) for r in rows}


def _verdict(r: Any) -> ChannelVerdict:
    return ChannelVerdict(
        channel=r["channel"],
        passed=None if r["passed"] is None else bool(r["passed"]),
        unfixable=bool(r["unfixable"]),
        ocr=bool(r["ocr"]),
        rules=json.loads(r["rules_json"]) if r["rules_json"] else [],
        override=bool(r["override"]),
    )
