"""Nothing paid twice without being counted, nothing of the user's replaced (issue 27 §2).

* A user's file named like a version (``cup.v2.png``) is never replaced by ``regenerate``,
  ``resume`` or ``regenerate --more``: a version takes a free name, and only Atelier's own
  files are listed (and exported) as versions.
* A malformed line in a provider batch's output (``[1,2,3]``, ``"response": "oops"``) fails
  only its own job; the rest of the file is read, and a line sent again is in ``paid_twice``.
* A request given up by the job timeout counts as spent at its estimated price and in
  ``lost_in_flight``, in the report and in the batch's spent sum.
* A provider batch that always expires is sent again a bounded number of times, then its
  jobs fail with a sentence (or, when the user allowed it, go through the standard API).

"Paid and not counted" is what a server billed (its answered lines or requests) less the
images written, the ``paid_twice`` and the ``lost_in_flight`` the report owns up to.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from atelier.cli.main import run_command
from atelier.core.models import JobSpec, RunSettings
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.service import load_prices, make_provider_factory
from atelier.pricing.entries import PriceQuery
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.framework import FakeServer
from tests.fakes.gemini import GeminiDialect
from tests.fakes.openai_server import FakeOpenAI
from tests.support.batches import store_batch
from tests.support.record import record

GEMINI_KEY = "gemini-test-key"


def _run(*argv: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command([*argv, "--format", "json"], out, err)
    text = out.getvalue()
    return code, (json.loads(text) if text.strip().startswith("{") else {}), err.getvalue()


def _config(tmp_path: Path, prompts: list[str], quality: str = "low") -> Path:
    jobs = [{"prompt": p, "quality": quality, "size": "1024x1024"} for p in prompts]
    cfg = tmp_path / "batch.json"
    cfg.write_text(json.dumps({"jobs": jobs}))
    return cfg


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    with FakeServer(GeminiDialect, api_key=GEMINI_KEY) as fake:
        yield fake


def _economy_openai(cfg: Path, fake: FakeOpenAI, out: Path, *extra: str) -> list[str]:
    return [
        "run", str(cfg), "--provider", "openai", "--model", "gpt-image-1.5", "--base-url",
        fake.base_url, "--output-dir", str(out), "--economy", "--economy-poll-ms", "50", *extra,
    ]  # fmt: skip


def _economy_gemini(cfg: Path, fake: FakeServer, out: Path, *extra: str) -> list[str]:
    return [
        "run", str(cfg), "--provider", "gemini", "--model", "gemini-2.5-flash-image",
        "--base-url", f"{fake.url}/v1beta", "--output-dir", str(out), "--economy",
        "--economy-poll-ms", "50", *extra,
    ]  # fmt: skip


def _images(out: Path) -> int:
    return len(list(out.glob("*.png")))


# ---- a malformed line in a provider batch's output --------------------------------------------
PRODUCTS = [f"studio photo of product {i}" for i in range(5)]
HOSTILE_LINES = {
    "not an object": "[1,2,3]",
    "response not an object": '{"custom_id": "{key}", "response": "oops"}',
}


@pytest.mark.usefixtures("openai_env")
@pytest.mark.parametrize("kind", sorted(HOSTILE_LINES))
def test_a_malformed_openai_batch_line_fails_only_its_own_job(
    tmp_path: Path, fake_openai: FakeOpenAI, kind: str
) -> None:
    book = fake_openai.batches
    book.garble = {"product 1": HOSTILE_LINES[kind]}  # the second line of five
    out = tmp_path / "out"
    _, report, err = _run(*_economy_openai(_config(tmp_path, PRODUCTS), fake_openai, out))
    assert report, err
    billed = sum(book.answered_by_prompt().values())
    # The other four lines were read from the file, not sent again.
    assert {p: n for p, n in book.lines_by_prompt().items() if n > 1} == {PRODUCTS[1]: 2}
    assert report["succeeded"] == 5 and _images(out) == 5, report
    assert report["paid_twice"] == 1  # the unreadable line, billed, then made again
    unseen = billed - _images(out) - report["paid_twice"] - report["lost_in_flight"]
    assert billed == 6 and unseen == 0
    # What the unreadable line cost is in the job's cost and the total (list price / 2, twice).
    costs = {r["prompt"]: r["cost"] for r in report["results"]}
    assert costs[PRODUCTS[1]] == pytest.approx(2 * costs[PRODUCTS[0]], rel=0.05)
    record(
        f"OpenAI batch output with one malformed line ({kind})",
        images=5,
        lines_billed=billed,
        paid_twice=report["paid_twice"],
        images_paid_twice_and_not_counted=unseen,
    )


@pytest.mark.parametrize("kind", ["inline", "file"])
def test_a_malformed_gemini_batch_entry_fails_only_its_own_job(
    tmp_path: Path, gemini: FakeServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "file":  # every batch goes as an uploaded file, its answers as a responses file
        from atelier.providers.economy.gemini_batch import GeminiBatchApi

        monkeypatch.setattr(GeminiBatchApi, "inline_max_bytes", 1)
    book = gemini.batches
    book.garble = {"product 1": "[1,2,3]", "product 3": '{"key": "{key}", "response": "oops"}'}
    out = tmp_path / "out"
    _, report, err = _run(*_economy_gemini(_config(tmp_path, PRODUCTS, "auto"), gemini, out))
    assert report, err
    billed = sum(book.answered_by_prompt().values())
    again = {p: n for p, n in book.lines_by_prompt().items() if n > 1}
    assert again == {PRODUCTS[1]: 2, PRODUCTS[3]: 2}
    assert report["succeeded"] == 5 and _images(out) == 5, report
    assert report["paid_twice"] == 2
    unseen = billed - _images(out) - report["paid_twice"] - report["lost_in_flight"]
    assert billed == 7 and unseen == 0
    record(
        f"Gemini batch output ({kind}) with two malformed entries",
        images=5,
        lines_billed=billed,
        paid_twice=report["paid_twice"],
        images_paid_twice_and_not_counted=unseen,
    )


# ---- a request given up by the job timeout ---------------------------------------------------
@pytest.mark.usefixtures("openai_env")
@pytest.mark.timing
def test_a_timed_out_request_counts_as_spent_and_lost_in_flight(
    tmp_path: Path, fake_openai: FakeOpenAI, atelier_home: Path
) -> None:
    fake_openai.slow_s = 1.2  # the image is made (and billed), the answer comes too late
    fake_openai.script_for("slow vase", ["slow", "slow"])
    out = tmp_path / "out"
    cfg = _config(tmp_path, ["slow vase", "quick cup"])
    code, report, err = _run(
        "run", str(cfg), "--provider", "openai", "--model", "gpt-image-1.5", "--base-url",
        fake_openai.base_url, "--output-dir", str(out), "--job-timeout", "400",
    )  # fmt: skip
    assert code == 0, err
    time.sleep(fake_openai.slow_s)  # the server finishes what it was asked
    made = [e.prompt for e in fake_openai.log if e.prompt is not None]
    assert made.count("slow vase") == 3  # billed three times by the server
    assert report["lost_in_flight"] == 2 and report["paid_twice"] == 0
    query = PriceQuery("openai", "gpt-image-1.5", "low", "1024x1024")
    estimate = load_prices().price_of(query).per_image
    assert estimate
    costs = {r["prompt"]: r["cost"] for r in report["results"]}
    # The slow job: its answer, plus two abandoned requests at the estimated price.
    assert costs["slow vase"] == pytest.approx(costs["quick cup"] + 2 * estimate, rel=0.05)
    assert report["total_cost"] == pytest.approx(sum(costs.values()))
    store = Store(atelier_home / "atelier.sqlite3")
    try:  # the spent figure the window and `batches` show
        assert store.known_spend_usd(int(report["batch_id"])) == pytest.approx(report["total_cost"])
    finally:
        store.close()
    unseen = len(made) - _images(out) - report["paid_twice"] - report["lost_in_flight"]
    assert unseen == 0
    record(
        "a request given up by the job timeout and retried",
        requests_billed=len(made),
        images=_images(out),
        lost_in_flight=report["lost_in_flight"],
        images_paid_twice_and_not_counted=unseen,
    )


# ---- a provider batch that always expires ----------------------------------------------------
@pytest.mark.usefixtures("openai_env")
def test_an_always_expiring_batch_is_resubmitted_a_bounded_number_of_times(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    book = fake_openai.batches
    book.expire_always = True
    out = tmp_path / "out"
    began = time.monotonic()
    argv = _economy_openai(_config(tmp_path, PRODUCTS), fake_openai, out, "--timeout", "20000")
    code, report, err = _run(*argv)  # the whole-run timeout: before the fix it never ended
    assert time.monotonic() - began < 15
    assert code == 1 and report["failed"] == 5, err
    assert len(book.batches) == 2  # the first batch and one resubmission
    assert fake_openai.requests() == []  # the standard API was not allowed
    for r in report["results"]:
        assert "ended the batch holding this job 2 times (expired" in r["error"]
        assert "--economy-retry now" in r["error"]
    record("a provider batch that always expires", provider_batches=len(book.batches))


@pytest.mark.usefixtures("openai_env")
def test_an_always_expiring_batch_moves_to_the_standard_api_when_allowed(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    book = fake_openai.batches
    book.expire_always = True
    out = tmp_path / "out"
    cfg = _config(tmp_path, PRODUCTS)
    argv = _economy_openai(cfg, fake_openai, out, "--economy-retry", "now", "--timeout", "20000")
    code, report, err = _run(*argv)
    assert code == 0 and report["succeeded"] == 5, err
    assert len(book.batches) == 2
    assert sorted(e.prompt for e in fake_openai.requests()) == PRODUCTS


# ---- a user's file named like a version ------------------------------------------------------
def _cli(*argv: str) -> tuple[int, dict[str, Any], str]:
    return _run(*argv)


def _shown_paths(batch: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", batch, "--format", "json"], out, err) == 0, err.getvalue()
    shown = json.loads(out.getvalue())
    return [im["path"] for j in shown["jobs"] for v in j["versions"] for im in v["images"]]


@pytest.mark.parametrize("then", ["resume", "regenerate", "regenerate --more 2"])
@pytest.mark.parametrize("users", ["their photo", "a copy of cup.png"])
def test_a_users_file_named_like_a_version_is_never_replaced(
    tmp_path: Path, then: str, users: str
) -> None:
    out = tmp_path / "out"
    cfg = tmp_path / "cup.json"
    cfg.write_text(json.dumps({"jobs": [{"prompt": "a cup", "output_path": "cup.png"}]}))
    code, report, err = _cli(
        "run", str(cfg), "--provider", "draft", "--size", "256x256", "--output-dir", str(out)
    )
    assert code == 0, err
    batch, job = str(report["batch_id"]), str(report["results"][0]["job_id"])
    mine = out / "cup.v2.png"
    if users == "their photo":
        Image.new("RGB", (8, 8), "red").save(mine)
    else:  # an image Atelier made, but not this job's version 2: still the user's file
        mine.write_bytes((out / "cup.png").read_bytes())
    theirs = mine.read_bytes()
    _, first, err = _cli("regenerate", batch, "--jobs", job)
    assert mine.read_bytes() == theirs, err
    args = then.split()
    code, report, err = _cli(*args[:1], batch, *(["--jobs", job, *args[1:]] if len(args) > 1 or args[0] == "regenerate" else []))  # fmt: skip
    assert code == 0, (err, report)
    replaced = int(mine.read_bytes() != theirs)
    assert replaced == 0
    assert first["succeeded"] == 1, first  # version 2 was made, under a free name
    assert (out / "cup.v2-2.png").is_file()
    listed = _shown_paths(batch)
    assert str(mine.resolve()) not in listed and str(mine) not in listed
    zip_path = tmp_path / "export.zip"
    out_buf, err_buf = io.StringIO(), io.StringIO()
    assert run_command(["export", batch, "--zip", str(zip_path)], out_buf, err_buf) == 0
    with zipfile.ZipFile(zip_path) as z:
        assert "cup.v2.png" not in [Path(n).name for n in z.namelist()]
    record(
        f"a user's file named like a version, then {then} ({users})",
        user_files_replaced=replaced,
    )


def test_an_image_kept_for_later_is_written_beside_the_users_file_not_over_it(
    tmp_path: Path,
) -> None:
    """An image made while the user's file held its name is kept (spooled); the next run
    writes it under a free name instead of replacing the user's file."""
    out = tmp_path / "out"
    store = Store(tmp_path / "s.db")
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="256x256") for i in range(2)]
    bid = store_batch(store, RunSettings(), specs, out)
    out.mkdir()
    (out / "p1.png").write_bytes(b"saved by the user after planning")
    engine = Engine(store, make_provider_factory(Settings()))
    first = asyncio.run(engine.run(bid))
    assert {r.prompt: r.status for r in first.results}["p1"] == "failed"
    again = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    replaced = int((out / "p1.png").read_bytes() != b"saved by the user after planning")
    assert replaced == 0
    by = {r.prompt: r for r in again.results}
    assert by["p1"].status == "completed" and by["p1"].output_path == str(
        (out / "p1-2.png").resolve()
    )
    store.close()
    record("an image kept for later meets the user's file at resume", user_files_replaced=replaced)
