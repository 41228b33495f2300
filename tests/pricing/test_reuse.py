"""Never pay twice (``atelier.pricing.reuse``), against the fake OpenAI server: a Shopify export whose
template names no variant column sends one request per distinct prompt and copies the rest;
the same batch into a new folder sends none and writes every file; ``--no-reuse`` sends all;
a changed file is never copied; the estimate says all of it before anything is paid."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from atelier.core import paths
from atelier.core.models import JobSpec
from atelier.pricing.reuse import plan_reuse, request_key
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.cli import run_cli

PRICE = 0.009  # gpt-image-1.5, low, 1024x1024: the estimate's list price (atelier/pricing/table.py)


def billed(prompt: str) -> float:
    """What one answer of the fake costs from its ``usage``: its text tokens at $5/1M and
    272 low-quality image tokens at $32/1M (gpt-image-1.5's token prices)."""
    return (max(1, len(prompt) // 4) * 5 + 272 * 32) / 1e6


@pytest.fixture
def shop(data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)

    def run(out: Path, *extra: str) -> dict:
        r = run_cli(
            "run", "--csv", str(data_dir / "shopify-home-goods.csv"), "--provider", "openai",
            "--base-url", fake_openai.base_url, "--model", "gpt-image-1.5", "--quality", "low",
            "--prompt", "Studio photo of {Title}", "--filename", "{Variant SKU}",
            "--output-dir", str(out), "--format", "json", *extra,
        )  # fmt: skip
        assert r.code == 0, r.err
        return json.loads(r.out)

    return run


def test_one_request_per_distinct_prompt_then_none(
    shop, fake_openai: FakeOpenAI, tmp_path: Path, atelier_home: Path
) -> None:
    est = shop(tmp_path / "first", "--estimate-only")
    distinct = est["distinct_prompts"]
    assert est["jobs"] == 38 and 1 < distinct < 38
    assert est["images"] == distinct and est["reused_images"] == 38 - distinct
    assert est["estimated_cost"] == pytest.approx(distinct * PRICE)
    assert est["list_cost"] == pytest.approx(38 * PRICE)

    first = shop(tmp_path / "first")
    asked = Counter(r.prompt for r in fake_openai.requests())
    assert len(asked) == distinct and set(asked.values()) == {1}  # each prompt paid once
    assert first["succeeded"] == 38
    assert first["total_cost"] == pytest.approx(sum(billed(p) for p in asked))
    copies = [r for r in first["results"] if "reused_from" in r]
    assert len(copies) == 38 - distinct
    for r in copies:  # a copy is the same file, under its own name, at $0, with no request
        assert Path(r["output_path"]).read_bytes() == Path(r["reused_from"]).read_bytes()
        assert r["output_path"] != r["reused_from"] and r["cost"] == 0 and r["attempts"] == 0
    store = Store(paths.store_path())
    try:
        rows = {im.path.name: im for im in store.images(first["batch_id"])}
        jobs = {j.spec.output_path: j for j in store.jobs(first["batch_id"])}
    finally:
        store.close()
    for r in copies:  # its own record: its job's row, prompt and file; the source named
        name = Path(r["output_path"]).name
        im = rows[name]
        assert im.reused_from is not None and im.cost == 0
        assert jobs[name].spec.row_values["Variant SKU"] == Path(name).stem

    est2 = shop(tmp_path / "second", "--estimate-only")
    assert est2["images"] == 0 and est2["reused_images"] == 38
    assert est2["estimated_cost"] == 0
    sent = len(fake_openai.requests())
    second = shop(tmp_path / "second")
    assert len(fake_openai.requests()) == sent  # nothing sent, nothing paid
    assert second["succeeded"] == 38 and second["total_cost"] == 0
    names = sorted(p.name for p in (tmp_path / "second").glob("*.png"))
    assert names == sorted(p.name for p in (tmp_path / "first").glob("*.png"))
    assert len(names) == 38
    for name in names:
        assert (tmp_path / "second" / name).read_bytes() == (tmp_path / "first" / name).read_bytes()

    third = shop(tmp_path / "third", "--no-reuse")
    assert len(fake_openai.requests()) == sent + 38  # every image made and paid
    assert third["total_cost"] == pytest.approx(
        sum(billed(r.prompt) for r in fake_openai.requests()[sent:])
    )
    assert not [r for r in third["results"] if "reused_from" in r]


def test_a_copy_stands_in_for_a_deleted_original(
    shop, fake_openai: FakeOpenAI, tmp_path: Path, atelier_home: Path
) -> None:
    first = shop(tmp_path / "first")
    copy = next(r for r in first["results"] if "reused_from" in r)
    Path(copy["reused_from"]).unlink()  # the original is gone; its copy is still there
    sent = len(fake_openai.requests())
    again = shop(tmp_path / "again")
    assert len(fake_openai.requests()) == sent and again["total_cost"] == 0
    twin = next(r for r in again["results"] if r["prompt"] == copy["prompt"])
    assert Path(twin["output_path"]).read_bytes() == Path(copy["output_path"]).read_bytes()


def test_a_changed_file_is_made_again_not_copied(
    shop, fake_openai: FakeOpenAI, tmp_path: Path, atelier_home: Path
) -> None:
    first = shop(tmp_path / "first")
    once = Counter(r["prompt"] for r in first["results"])
    # An image no other job copied: its only file is changed by hand.
    made = [r for r in first["results"] if once[r["prompt"]] == 1]
    touched = Path(made[0]["output_path"])
    touched.write_bytes(touched.read_bytes() + b"edited by hand")
    sent = len(fake_openai.requests())
    again = shop(tmp_path / "again")
    new = fake_openai.requests()[sent:]
    assert [r.prompt for r in new] == [made[0]["prompt"]]  # only the changed image's prompt
    assert again["total_cost"] == pytest.approx(billed(made[0]["prompt"]))


def _reference_reuse(
    specs: list[tuple[str, str, JobSpec]], found: set[str]
) -> tuple[int, list[tuple[str, int]]]:
    """The rule, sample by sample: an image is copied when an earlier batch's is found or an
    earlier job of this batch made it; what is left is made."""
    seen = set(found)
    reused, to_make = 0, []
    for p, m, s in specs:
        key = request_key(p, m, s, {})
        make = 0
        for i in range(s.sample_count):
            if f"{key}#{i}" in seen:
                reused += 1
            else:
                make += 1
                seen.add(f"{key}#{i}")
        if make:
            to_make.append((s.prompt, make))
    return reused, to_make


def test_the_reuse_plan_is_the_sample_by_sample_rule(tmp_path: Path) -> None:
    """``plan_reuse`` keys each distinct request once and counts samples by prefix: the same
    answer as the rule taken sample by sample, on 300 random batches."""
    import random

    rng = random.Random(7)
    image = tmp_path / "old.png"
    image.write_bytes(b"x")

    class Found:
        path = image

    for _ in range(300):
        jobs = [
            JobSpec(
                prompt=rng.choice("abc"), output_path=f"{i}.png", sample_count=rng.randint(1, 4)
            )
            for i in range(rng.randint(1, 12))
        ]
        specs = [("openai", "gpt-image-1", s) for s in jobs]
        keys = {request_key(p, m, s, {}) for p, m, s in specs}
        found = {f"{k}#{i}" for k in keys for i in range(4) if rng.random() < 0.3}
        rp = plan_reuse(specs, {}, lambda ks, found=found: {k: [Found()] for k in ks if k in found})
        assert (rp.reused, [(s.prompt, s.sample_count) for s in rp.to_make]) == (
            _reference_reuse(specs, found)
        )
        in_batch = plan_reuse(specs, {}, None)
        assert in_batch.reused == _reference_reuse(specs, set())[0]
