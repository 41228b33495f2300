"""Quality checks on save through the engine (issue 31): each flag reaches the store, the
event and the report; ``qa_retry`` makes a flagged image again within the cap, and the report's
spent figure counts every attempt; by default nothing is made again."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from atelier.core.delivery_config import Delivery, WebhookTarget
from atelier.core.events import ImageSaved
from atelier.core.models import JobSpec, RunSettings
from atelier.engine.engine import Engine
from atelier.output.images import REPORT_NAME
from atelier.output.report import build_report
from atelier.output.report_markdown import to_markdown
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.crafted import CraftedProvider, encode, flat, photo_like
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.receivers import WebhookReceiver
from tests.support.batches import store_batch
from tests.support.cli import CliRun, run_cli

SIZE = "1024x1024"


def _run(
    root: Path,
    script: dict[str, list[bytes]],
    *,
    qa_retry: int = 0,
    budget: float | None = None,
    samples: int = 1,
    delivery: Delivery | None = None,
) -> tuple[Any, Store, int, CraftedProvider, list[ImageSaved]]:
    CraftedProvider.script = script
    provider = CraftedProvider()
    store = Store(root / "store.db")
    rs = RunSettings(
        provider="openai",
        model="gpt-image-1.5",
        concurrency=1,
        qa_retry=qa_retry,
        budget_usd=budget,
        delivery=delivery,
    )
    specs = [
        JobSpec(
            prompt=p,
            output_path=f"img-{i}.png",
            size=SIZE,
            quality="low",
            seed=7,
            sample_count=samples,
        )
        for i, p in enumerate(script)
    ]
    bid = store_batch(store, rs, specs, root / "out")
    engine = Engine(store, lambda _rs: provider)
    saved: list[ImageSaved] = []
    engine.events.subscribe(lambda e: saved.append(e) if isinstance(e, ImageSaved) else None)
    report = asyncio.run(engine.run(bid))
    return report, store, bid, provider, saved


def _good(seed: int) -> bytes:
    return encode(photo_like(seed, (1024, 1024)))


BLANK = encode(flat((255, 255, 255), (1024, 1024)))


def test_flags_reach_the_store_the_event_and_the_report(tmp_path: Path) -> None:
    good = _good(1)
    script = {
        "good": [good],
        "blank": [BLANK],
        "black": [encode(flat((2, 2, 2), (1024, 1024)))],
        "grey": [encode(flat((128, 120, 110), (1024, 1024), sigma=3))],
        "small": [encode(photo_like(2, (512, 512)))],
        "wide": [encode(photo_like(3, (1536, 1024)))],
        "again": [encode(photo_like(1, (1024, 1024)), "JPEG", quality=70)],
    }
    report, store, bid, provider, saved = _run(tmp_path, script)
    flags = {im.prompt: im.qa_flags for im in store.images(bid)}
    assert flags == {
        "good": (),
        "blank": ("blank",),
        "black": ("black",),
        "grey": ("uniform",),
        "small": ("wrong_size",),
        "wide": ("wrong_size", "wrong_aspect"),
        "again": ("duplicate",),
    }
    assert {e.qa_flags for e in saved} == set(flags.values())
    dup = next(im for im in store.images(bid) if im.prompt == "again")
    good_id = next(im.id for im in store.images(bid) if im.prompt == "good")
    assert dup.qa_detail["duplicate_of"] == good_id
    by_prompt = {r.prompt: r for r in report.results}
    assert by_prompt["wide"].qa_flags == ["wrong_size", "wrong_aspect"]
    assert by_prompt["good"].qa_flags == []
    assert report.qa_flagged == 6
    md = to_markdown(report)
    assert "#### Quality check" in md and "6 image(s) flagged, 0 made again" in md
    assert "- `img-5.png`: wrong size, wrong aspect" in md
    # the default: nothing made again
    assert set(provider.calls.values()) == {1}
    assert report.qa_remakes == 0


def test_qa_retry_makes_a_blank_image_again_and_counts_both_costs(tmp_path: Path) -> None:
    script = {"cup": [BLANK, _good(5)], "plate": [_good(6)]}
    report, store, bid, provider, saved = _run(tmp_path, script, qa_retry=2)
    assert provider.calls == {"cup": 2, "plate": 1}
    assert provider.seeds[0] != provider.seeds[1]  # the re-make asks for another image
    cup = next(im for im in store.images(bid) if im.prompt == "cup")
    assert cup.qa_flags == () and cup.qa_remakes == 1
    results = {r.prompt: r for r in report.results}
    one = results["plate"].cost
    assert one and one > 0
    assert results["cup"].cost == pytest.approx(2 * one)  # both attempts priced
    assert report.total_cost == pytest.approx(3 * one)
    assert results["cup"].qa_remakes == 1 and report.qa_remakes == 1
    assert store.known_spend_usd(bid) == pytest.approx(3 * one)
    assert [e.qa_flags for e in saved if e.job_id == cup.job_id] == [("blank",), ()]
    rebuilt = build_report(store, bid)
    assert rebuilt.total_cost == pytest.approx(3 * one) and rebuilt.qa_remakes == 1


def test_qa_retry_stops_at_n_and_keeps_the_flag(tmp_path: Path) -> None:
    report, store, bid, provider, _ = _run(tmp_path, {"cup": [BLANK]}, qa_retry=2)
    assert provider.calls == {"cup": 3}  # the first and two re-makes
    (cup,) = store.images(bid)
    assert cup.qa_flags == ("blank",) and cup.qa_remakes == 2
    assert report.succeeded == 1 and report.qa_flagged == 1


def test_qa_retry_never_spends_beyond_the_cap(tmp_path: Path) -> None:
    first, *_ = _run(tmp_path / "a", {"cup": [BLANK]})
    one = first.total_cost
    assert one
    report, _, _, provider, _ = _run(tmp_path / "b", {"cup": [BLANK]}, qa_retry=5, budget=one * 2.5)
    assert provider.calls["cup"] == 2  # the first and one re-make: a second would pass the cap
    assert report.total_cost is not None and report.total_cost <= one * 2.5 + 1e-9
    assert report.succeeded == 1 and report.stopped_reason is None  # the cap ends the re-makes


def test_re_makes_leave_the_cap_to_the_first_makings(tmp_path: Path) -> None:
    """A cap with room for one re-make beside the two first makings: the blank image of the
    first job is not made again while the second job still needs its room; nothing halts."""
    first, *_ = _run(tmp_path / "a", {"plate": [_good(6)]})
    one = first.total_cost
    assert one
    report, _, _, provider, _ = _run(
        tmp_path / "b", {"cup": [BLANK, _good(5)], "plate": [_good(6)]}, qa_retry=2,
        budget=one * 2.5,
    )  # fmt: skip
    assert provider.calls == {"cup": 1, "plate": 1}
    assert report.succeeded == 2 and report.stopped_reason is None
    assert report.qa_flagged == 1 and report.total_cost == pytest.approx(2 * one)
    report, _, _, provider, _ = _run(
        tmp_path / "c", {"cup": [BLANK, _good(5)], "plate": [_good(6)]}, qa_retry=2,
        budget=one * 3.5,
    )  # fmt: skip
    assert provider.calls == {"cup": 2, "plate": 1}  # room for one re-make: made
    assert report.qa_flagged == 0 and report.total_cost == pytest.approx(3 * one)


def _cli_run(tmp_path: Path, data_dir: Path, base_url: str, *flags: str) -> CliRun:
    return run_cli(
        "run", str(data_dir / "batch-configs" / "batch-simple.json"), "--provider", "openai",
        "--base-url", base_url, "--output-dir", str(tmp_path / "out"), "--max-concurrent", "1",
        *flags,
    )  # fmt: skip


def test_cli_qa_retry_makes_flagged_images_again_and_prices_every_attempt(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fake OpenAI answers with flat images: each is flagged, made again twice, and kept
    flagged; the report's spent figure is three attempts per job."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    plain = _cli_run(tmp_path / "a", data_dir, fake_openai.base_url, "--format", "json")
    once = plain.report()["total_cost"]
    assert once and len(fake_openai.requests()) == 3
    run = _cli_run(tmp_path / "b", data_dir, fake_openai.base_url, "--qa-retry", "2", "--no-reuse")
    assert run.code == 0, run.err
    report = json.loads((tmp_path / "b" / "out" / REPORT_NAME).read_text(encoding="utf-8"))
    assert len(fake_openai.requests()) == 3 + 3 * 3
    assert report["qa_flagged"] == 3 and report["qa_remakes"] == 6
    assert report["total_cost"] == pytest.approx(3 * once)
    assert all(r["qa_flags"] == ["uniform"] and r["qa_remakes"] == 2 for r in report["results"])
    assert "made again up to 2 time(s)" in run.err and "only the count bounds them" in run.err
    assert "quality check: 3 image(s) flagged, 6 made again" in run.out


def test_cli_default_makes_nothing_again_and_says_what_was_flagged(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    run = _cli_run(tmp_path, data_dir, fake_openai.base_url)
    assert run.code == 0, run.err
    assert len(fake_openai.requests()) == 3
    assert "quality check: 3 image(s) flagged, 0 made again" in run.out
    assert run.out.count("flagged: near-uniform") == 3
    assert "made again up to" not in run.err


def test_cli_estimate_states_the_worst_case_of_the_re_makes(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    flags = ("--qa-retry", "2", "--estimate-only", "--quality", "low")
    doc = json.loads(
        _cli_run(tmp_path, data_dir, fake_openai.base_url, *flags, "--format", "json").out
    )
    assert doc["qa_retry"] == 2
    assert doc["qa_retry_worst_case_cost"] == pytest.approx(2 * doc["estimated_cost"])
    text = _cli_run(tmp_path, data_dir, fake_openai.base_url, *flags, "--budget", "5").out
    assert f"at most ${2 * doc['estimated_cost']:.3f} more" in text
    assert "The spend cap bounds them" in text
    assert fake_openai.requests() == []
    bad = _cli_run(tmp_path, data_dir, fake_openai.base_url, "--qa-retry", "-1")
    assert bad.code == 2 and "--qa-retry" in bad.err


def test_a_copied_image_keeps_its_sources_flags(tmp_path: Path) -> None:
    """An identical request copies the earlier image at $0 (``atelier.pricing.reuse``): the
    same bytes, so the same flags (but ``duplicate``, which was about the source's batch)."""
    CraftedProvider.script = {"cup": [BLANK], "bowl": [_good(3)], "again": [_good(3)]}
    provider = CraftedProvider()
    store = Store(tmp_path / "store.db")
    rs = RunSettings(provider="openai", model="gpt-image-1.5", concurrency=1)
    specs = [
        JobSpec(prompt=p, output_path=f"{p}.png", size=SIZE, quality="low", seed=7)
        for p in ("cup", "bowl", "again")
    ]
    engine = Engine(store, lambda _rs: provider)
    first = store_batch(store, rs, specs, tmp_path / "one", name="one")
    asyncio.run(engine.run(first))
    assert [im.qa_flags for im in store.images(first)] == [("blank",), (), ("duplicate",)]
    second = store_batch(store, rs, specs, tmp_path / "two", name="two")
    report = asyncio.run(engine.run(second))
    assert provider.calls == {"cup": 1, "bowl": 1, "again": 1}  # all three copied
    copies = store.images(second)
    assert all(im.reused_from for im in copies)
    assert [im.qa_flags for im in copies] == [("blank",), (), ()]
    assert report.qa_flagged == 1 and report.total_cost == 0


def test_an_image_made_again_is_never_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flagged image whose sample is made again gets no deliveries (its re-make replaces
    it): the webhook hears of the cup once, with the re-made image (before the fix the blank
    one was queued and sent as soon as it was recorded, then deleted under the courier)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", secret)
    with WebhookReceiver(secret) as hook:
        target = WebhookTarget(url=hook.url + "/hooks", events=["image.completed"])
        delivery = Delivery(targets=[target], backoff_s=0.05, max_backoff_s=0.2, timeout_s=1.0)
        script = {"cup": [BLANK, _good(5)], "plate": [_good(6)]}
        _, store, bid, provider, _ = _run(tmp_path, script, qa_retry=1, delivery=delivery)
    assert provider.calls == {"cup": 2, "plate": 1}
    assert store.delivery_counts(bid).get("delivered") == 2
    assert len(hook.ids) == len(set(hook.ids)) == 2  # one per final image, none for the blank
