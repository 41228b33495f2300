"""A job's error is a message (msgid and fields) said in the reader's language when it is
shown: stored while English, read in Japanese, in the store's rows (the window), the report and
the CLI's failure lines; older rows and plain texts read as stored."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.core import i18n
from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import JobStatus
from atelier.store import Store
from tests.support.batches import store_batch

JA_CANCELLED = "ユーザーがキャンセルしました。"


@pytest.fixture
def english() -> Iterator[None]:
    i18n.use_language("en")
    yield
    i18n.use_language("en")


def _store(tmp_path: Path) -> tuple[Store, int, list[int]]:
    store = Store(tmp_path / "atelier.db")
    specs = [JobSpec(prompt=f"a cup {i}", output_path=f"cup-{i}.png") for i in range(3)]
    bid = store_batch(store, RunSettings(provider="draft"), specs, tmp_path / "out")
    return store, bid, [j.id for j in store.jobs(bid)]


def _fail(store: Store, jid: int, error: str, kind: str) -> None:
    assert store.claim_job(jid)
    store.set_job_status(jid, JobStatus.FAILED, error=error, error_type=kind)


@pytest.mark.usefixtures("english")
def test_a_message_is_its_text_and_keeps_its_fields() -> None:
    from atelier.core.i18n import N_, Message

    wait = Message(N_(" (asked to wait {seconds:.1f} s)"), seconds=2.5)
    m = Message(
        N_("{provider} rate limit reached{wait}{detail}."), provider="OpenAI", wait=wait, detail=""
    )
    assert m == "OpenAI rate limit reached (asked to wait 2.5 s)."
    assert isinstance(m, str) and m.msgid.startswith("{provider} rate limit")
    data = json.loads(i18n.message_json(m) or "")
    assert data["fields"]["wait"] == {"msgid": wait.msgid, "fields": {"seconds": 2.5}}
    i18n.use_language("ja")
    again = i18n.render_stored(str(m), json.dumps(data))
    assert again == "OpenAI のレート制限に達しました（2.5 秒待つよう指示）。"
    assert i18n.message_json("a plain text") is None
    # tr() and its .format are the same message, so every reason the code words is one
    same = i18n.tr("{provider} rate limit reached{wait}{detail}.").format(
        provider="OpenAI", wait=wait, detail=""
    )
    assert isinstance(same, Message) and same.to_data() == m.to_data()
    assert i18n.tr("{Title} stays literal").fields is None  # never formatted: braces kept


@pytest.mark.usefixtures("english")
def test_stored_reasons_follow_the_language(tmp_path: Path) -> None:
    """Cancelled and HTTP-failed jobs stored in English read Japanese in the store's rows,
    the report and the CLI's failure lines once the language is Japanese."""
    from atelier.cli.common import print_text_report
    from atelier.core.i18n import N_, Message
    from atelier.output.report import build_report
    from atelier.providers.http_errors import default_error

    store, bid, (j1, j2, j3) = _store(tmp_path)
    http = default_error(503, "OpenAI", "upstream busy")
    assert http.message == "OpenAI server error 503 (upstream busy)."
    _fail(store, j1, http.message, http.error_class.value)
    store.cancel_unfinished(bid, Message(N_("Cancelled by the user.")))
    assert {j.error for j in store.jobs(bid)} == {
        "OpenAI server error 503 (upstream busy).",
        "Cancelled by the user.",
    }
    i18n.use_language("ja")
    rows = {j.id: j.error for j in store.jobs(bid)}
    summaries = {j.id: j.error for j in store.job_summaries(bid)}
    assert rows[j2] == rows[j3] == summaries[j2] == JA_CANCELLED
    assert rows[j1] == summaries[j1] == "OpenAI のサーバーエラー 503 (upstream busy)。"
    report = build_report(store, bid)
    assert {r.error for r in report.results if int(r.job_id) in (j2, j3)} == {JA_CANCELLED}
    out = io.StringIO()
    print_text_report(report, tmp_path / "out", out)
    assert JA_CANCELLED in out.getvalue() and "Cancelled by the user." not in out.getvalue()
    store.close()


@pytest.mark.usefixtures("english")
def test_plain_and_old_reasons_read_as_stored(tmp_path: Path) -> None:
    """A reason made without a message, a row of a store from before (no ``error_msg``), and
    a damaged stored message all show the stored text; a secret in a field is redacted."""
    store, bid, (j1, j2, j3) = _store(tmp_path)
    _fail(store, j1, "Refused by moderation", "content_policy")
    from atelier.core.i18n import N_, Message

    _fail(
        store,
        j2,
        Message(
            N_("{provider} rejected the request{detail}."),
            provider="X",
            detail=" (key sk-abcdefghijklmnopqrstuvwx)",
        ),
        "invalid_request",
    )
    with store.tx() as db:
        stored = db.execute("SELECT error, error_msg FROM jobs WHERE id=?", (j2,)).fetchone()
    assert "sk-abcdefghijklmnopqrstuvwx" not in stored[0] + stored[1]
    _fail(store, j3, Message(N_("Cancelled by the user.")), "cancelled")
    with store.tx() as db:
        db.execute("UPDATE jobs SET error_msg='{not json' WHERE id=?", (j3,))
    i18n.use_language("ja")
    errors = {j.id: j.error for j in store.jobs(bid)}
    assert errors[j1] == "Refused by moderation"
    assert errors[j3] == "Cancelled by the user."  # damaged: the text as stored
    store.close()


def test_the_store_gains_the_column(tmp_path: Path) -> None:
    """The migration adds ``jobs.error_msg`` and leaves the text column as it was."""
    store, _bid, _ = _store(tmp_path)
    store.close()
    db = sqlite3.connect(tmp_path / "atelier.db")
    cols = {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
    db.close()
    assert {"error", "error_msg", "error_type"} <= cols


@pytest.mark.usefixtures("english")
def test_a_refusal_stored_in_english_reads_japanese() -> None:
    """OpenAI's content-policy refusal, the reason a designer meets most, is a message."""
    import httpx

    from atelier.providers.openai import classify_http_error

    body = json.dumps({"error": {"code": "moderation_blocked", "message": "blocked"}}).encode()
    err = classify_http_error(400, body, httpx.Headers(), "OpenAI")
    assert err.message.startswith("OpenAI refused this prompt under its content policy (blocked)")
    stored = i18n.message_json(err.message)
    i18n.use_language("ja")
    shown = i18n.render_stored(err.message, stored)
    assert shown == i18n.Message(err.message.msgid, provider="OpenAI", detail=" (blocked)")  # type: ignore[attr-defined]
    assert shown != err.message and "OpenAI" in (shown or "")
