"""A spend cap, a full disk, a read-only folder and a folder deleted mid-batch."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from atelier.cli.main import run_command
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.record import record

REQUIRE_MOUNT = os.environ.get("ATELIER_REQUIRE_MOUNT") == "1"


def _config(tmp_path: Path, n: int, quality: str = "low", size: str = "1024x1024") -> Path:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "jobs": [
                    {
                        "prompt": f"poster {i:02d}",
                        "output_path": f"p{i:02d}.png",
                        "quality": quality,
                        "size": size,
                    }
                    for i in range(n)
                ],
                "max_concurrent": 2,
            }
        )
    )
    return cfg


def _run(cfg: Path, out: Path, fake: FakeOpenAI, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    buf, err = io.StringIO(), io.StringIO()
    code = run_command(
        [
            "run",
            str(cfg),
            "--provider",
            "openai",
            "--base-url",
            fake.base_url,
            "--output-dir",
            str(out),
            "--format",
            "json",
            *extra,
        ],
        buf,
        err,
    )
    return code, json.loads(buf.getvalue()) if buf.getvalue() else {"err": err.getvalue()}


def _all_valid(out: Path, n: int) -> None:
    names = sorted(
        p.name
        for p in out.iterdir()
        if p.name != "atelier-report.json" and not p.name.endswith(".csv")
    )
    assert names == [f"p{i:02d}.png" for i in range(n)], names
    for name in names:
        with Image.open(out / name) as im:
            im.load()


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)


def test_budget_cap_stops_before_exceeding_and_resumes(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    cfg = _config(tmp_path, 10)  # $0.009 per image (gpt-image-1.5 low 1024²)
    code, report = _run(cfg, tmp_path / "o", fake_openai, "--budget", "0.05")
    assert code == 1
    assert report["succeeded"] == 5 and report["pending"] == 5 and report["total_cost"] <= 0.05
    assert "Budget cap of $0.05 reached" in report["stopped_reason"]
    assert len(fake_openai.requests()) == 5
    code, report = _run(cfg, tmp_path / "o", fake_openai, "--budget", "1")
    assert code == 0 and report["succeeded"] == 10 and len(fake_openai.requests()) == 10
    record(
        "budget cap $0.05 on 10 × $0.009, then raised",
        runs=2,
        jobs=10,
        images_lost=0,
        paid_twice=0,
        spent_first_run=0.045,
    )


def test_budget_cap_with_unknown_price_starts_nothing(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    code, report = _run(
        _config(tmp_path, 3, quality="auto"), tmp_path / "o", fake_openai, "--budget", "5"
    )
    assert code == 1 and report["succeeded"] == 0 and "unknown" in report["stopped_reason"]
    assert fake_openai.requests() == []


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        if REQUIRE_MOUNT:
            pytest.fail(f"could not mount a tmpfs: {res.stderr}")
        pytest.skip(f"mounting a tmpfs needs root: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _noisy(fake: FakeOpenAI) -> None:
    """Incompressible 512² images (~770 KB each) so a small disk fills up."""
    import random

    rnd = random.Random(1)
    data = bytes(rnd.getrandbits(8) for _ in range(512 * 512 * 3))
    img = Image.frombytes("RGB", (512, 512), data)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    fake.image = lambda *a, **k: buf.getvalue()  # type: ignore[method-assign]


@pytest.mark.slow
def test_full_disk_fails_clearly_keeps_the_paid_image_and_completes_after_resume(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    _noisy(fake_openai)
    with tmpfs(tmp_path / "small", "2m") as disk:
        out = disk / "out"
        out.mkdir()
        cfg = _config(tmp_path, 6)
        code, report = _run(cfg, out, fake_openai)
        assert code == 1
        failed = [r for r in report["results"] if r["status"] == "failed"]
        assert (
            failed and failed[0]["error_type"] == "output" and "disk is full" in failed[0]["error"]
        )
        assert "kept and will be written when you resume" in failed[0]["error"]
        assert "Stopped:" in report["stopped_reason"] and report["pending"] >= 1
        assert not list(out.glob("*.atelier-tmp")) and not list(out.glob(".*tmp"))
        requests_before = len(fake_openai.requests())
        subprocess.run(["mount", "-o", "remount,size=20m", str(disk)], check=True)
        code, report = _run(cfg, out, fake_openai)
        assert code == 0 and report["succeeded"] == 6
        _all_valid(out, 6)
        counts = fake_openai.counts_by_prompt()
        assert all(n == 1 for n in counts.values()), (
            counts
        )  # the spooled image was not bought again
        record(
            "full disk (2 MB tmpfs) mid-batch, enlarged, resumed",
            runs=2,
            jobs=6,
            images_lost=0,
            paid_twice=sum(n - 1 for n in counts.values()),
            requests_first_run=requests_before,
        )


def test_read_only_folder_then_writable(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    with tmpfs(tmp_path / "ro", "20m") as disk:
        out = disk / "out"
        out.mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        cfg = _config(tmp_path, 4)
        code, report = _run(cfg, out, fake_openai)
        # Found at the door now: nothing is stored and not one request is paid for.
        assert code == 2 and "cannot write into the output folder" in report["err"]
        assert str(out) in report["err"] and len(fake_openai.requests()) == 0
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        code, report = _run(cfg, out, fake_openai)
        assert code == 0 and report["succeeded"] == 4
        _all_valid(out, 4)
        assert all(n == 1 for n in fake_openai.counts_by_prompt().values())
        record(
            "read-only output folder: refused at the door (nothing paid), then run once writable",
            runs=2,
            jobs=4,
            images_lost=0,
            paid_twice=0,
        )


def test_folder_deleted_mid_batch(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    out = tmp_path / "out"
    fake_openai.latency_s = 0.05
    cfg = _config(tmp_path, 8)
    seen: list[str] = []

    def delete_after_three(e: object) -> None:
        from atelier.core.events import ImageSaved

        if isinstance(e, ImageSaved):
            seen.append(e.path)
            if len(seen) == 3:
                # As a file manager does it, again until it is gone: a job's file renamed
                # into the folder while rmtree walks it makes one pass fail (seen under load).
                while out.exists():
                    shutil.rmtree(out, ignore_errors=True)

    from atelier.engine import engine as engine_mod

    real_init = engine_mod.Engine.__init__

    def init(self: engine_mod.Engine, *a: object, **k: object) -> None:
        real_init(self, *a, **k)  # type: ignore[arg-type]
        self.events.subscribe(delete_after_three)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_mod.Engine, "__init__", init)
        code, report = _run(cfg, out, fake_openai)
    assert code == 1 and "no longer exists" in report["stopped_reason"]
    assert not out.exists() or not list(out.rglob("*tmp"))
    # images finished before the deletion (or racing it) are gone with the folder
    gone = [
        r
        for r in report["results"]
        if r["status"] == "completed" and not Path(r["output_path"]).exists()
    ]
    assert len(gone) >= 3
    code, report = _run(cfg, out, fake_openai)
    assert code == 0 and report["succeeded"] == 8
    _all_valid(out, 8)
    counts = fake_openai.counts_by_prompt()
    # exactly the images deleted with the folder are made again; the one that met the missing
    # folder was spooled and written on resume without a new request
    assert sum(n - 1 for n in counts.values()) == len(gone), counts
    assert {p for p, n in counts.items() if n > 1} == {r["prompt"] for r in gone}
    record(
        "output folder deleted after 3 of 8 images, resumed",
        runs=2,
        jobs=8,
        images_lost=0,
        paid_twice=0,
        remade_after_user_deletion=len(gone),
    )
