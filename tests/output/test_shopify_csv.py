"""``atelier export BATCH --shopify-csv FILE`` (the shop's own export with the delivered URLs
in ``Image Src`` and ``Variant Image``, ready for Shopify's product import) and ``atelier
report REPORT.json --format markdown`` (the summary the CI workflow comments), after a draft
run of the real Shopify export delivered to moto's S3 server."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

from atelier.core.models import BatchReport, DeliveryResult, JobResult
from atelier.output.report_markdown import MAX_LINES, to_markdown
from atelier.sheet.tabular import read_table
from tests.fakes.s3 import S3Server
from tests.support.cli import run_cli

CDN = "https://cdn.example-shop.com"


def _shop_run(sheet: Path, out: Path, *extra: str) -> dict[str, object]:
    r = run_cli(
        "run", "--csv", str(sheet), "--provider", "draft", "--size", "256x256",
        "--prompt", "Studio photo of {Title} in {Option1 Value}", "--filename", "{Variant SKU}",
        "--output-dir", str(out), "--format", "json", *extra,
    )  # fmt: skip
    assert r.code == 0, r.err
    report: dict[str, object] = json.loads(r.out)
    return report


def test_shopify_csv_and_markdown_summary_after_delivery(
    tmp_path: Path, data_dir: Path, s3: S3Server, atelier_home: Path
) -> None:
    bucket = f"shop-{uuid.uuid4().hex[:8]}"
    s3.client().create_bucket(Bucket=bucket)
    sheet = data_dir / "shopify-home-goods.csv"
    report = _shop_run(
        sheet, tmp_path / "out",
        "--deliver", f"s3://{bucket}/products", "--s3-endpoint", s3.url,
        "--s3-region", "us-east-1", "--s3-public-url", CDN + "/{key}",
    )  # fmt: skip
    assert report["deliveries"] == {"delivered": 38, "failed": 0, "pending": 0}

    dest = tmp_path / "shopify-import.csv"
    r = run_cli("export", str(report["batch_id"]), "--shopify-csv", str(dest))
    assert r.code == 0, r.err
    assert "38 row(s) with delivered image URLs" in r.out

    source = read_table(sheet)
    with dest.open(encoding="utf-8", newline="") as f:  # UTF-8, as Shopify's import needs
        rows = list(csv.reader(f))
    assert rows[0] == source.headers
    body = rows[1:]
    assert len(body) == len(source.rows)
    col = {name: source.headers.index(name) for name in ("Handle", "Variant SKU", "Image Src", "Variant Image")}  # fmt: skip
    firsts: dict[str, int] = {}
    for i, (new, old) in enumerate(zip(body, source.rows, strict=True)):
        url = f"{CDN}/products/{old[col['Variant SKU']]}.png"
        assert new[col["Variant Image"]] == url
        first = firsts.setdefault(old[col["Handle"]], i)
        # A product's first row shows its first variant; other rows keep their own photos.
        assert new[col["Image Src"]] == (url if first == i else old[col["Image Src"]])
        untouched = [c for c in range(len(old)) if c not in (col["Image Src"], col["Variant Image"])]  # fmt: skip
        assert [new[c] for c in untouched] == [old[c] for c in untouched]
    assert sorted(o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket)["Contents"]) == sorted(
        f"products/{row[col['Variant SKU']]}.png" for row in source.rows
    )  # fmt: skip

    md = run_cli("report", str(tmp_path / "out" / "atelier-report.json"), "--format", "markdown")
    assert md.code == 0, md.err
    lines = md.out.splitlines()
    assert lines[0] == f"### ✅ Atelier batch {report['batch_id']} (draft/draft)"
    assert "| 38 | 38 | 0 | 0 |" in lines[4]
    assert "Deliveries: 38 delivered, 0 failed, 0 pending" in lines
    assert (
        f"- `NH-CND-001.png` → {CDN}/products/NH-CND-001.png: Studio photo of Nordic Scented "
        "Candle in Pine Forest"
    ) in lines


def test_shopify_csv_says_what_is_missing(
    tmp_path: Path, data_dir: Path, atelier_home: Path
) -> None:
    report = _shop_run(data_dir / "shopify-home-goods.csv", tmp_path / "undelivered")
    r = run_cli("export", str(report["batch_id"]), "--shopify-csv", str(tmp_path / "x.csv"))
    assert r.code == 2 and "no image has a public URL yet" in r.err and "--deliver" in r.err
    assert not (tmp_path / "x.csv").exists()

    plain = tmp_path / "plain.csv"
    plain.write_text("SKU,Title\nA-1,Mug\n", encoding="utf-8")
    r = run_cli(
        "run", "--csv", str(plain), "--provider", "draft", "--prompt", "{Title}",
        "--output-dir", str(tmp_path / "plain"), "--format", "json",
    )  # fmt: skip
    bid = json.loads(r.out)["batch_id"]
    r = run_cli("export", str(bid), "--shopify-csv", str(tmp_path / "y.csv"))
    assert r.code == 2 and "not a Shopify product export: no 'Handle' column" in r.err


def _result(i: int, status: str = "completed", **kw: object) -> JobResult:
    folder = "/runner/work/out" + ("/shoes" if i % 2 == 0 else "")
    where = {"output_path": f"{folder}/m{i}.png"} if status == "completed" else {}
    return JobResult.model_validate(
        {"job_id": str(i), "prompt": f"mug | {i}\nsecond line", "status": status, **where, **kw}
    )


def test_markdown_summary_of_a_batch_with_failures() -> None:
    done = [_result(i) for i in range(MAX_LINES + 5)]
    done[0].deliveries = [
        DeliveryResult(target="s3", status="delivered", url="https://cdn/m0.png"),
    ]
    failed = [
        _result(900, "failed", error="content policy | blocked", error_type="moderation"),
        _result(901, "cancelled"),
    ]
    report = BatchReport(
        batch_id=7, provider="openai", model="gpt-image-1.5", total=57, succeeded=55,
        failed=1, cancelled=1, results=done + failed, started_at=None, finished_at=None,
        total_duration_ms=65_400, estimated_cost=2.2, total_cost=2.156,
        warnings=["row 4: {Colour} is empty"], deliveries={"delivered": 1, "failed": 0, "pending": 0},
    )  # fmt: skip
    md = to_markdown(report)
    assert md.startswith("### ⚠️ Atelier batch 7 (openai/gpt-image-1.5)\n")
    assert "| 57 | 55 | 1 | 1 | 65.4 s | $2.1560 |" in md
    assert "- `shoes/m0.png` → https://cdn/m0.png: mug \\| 0 second line" in md
    assert f"- `m{MAX_LINES - 1}.png`" in md and f"m{MAX_LINES}.png" not in md  # odd: top
    assert "- … and 5 more" in md
    assert "- job 900 (moderation): content policy \\| blocked" in md
    assert "- job 901 (cancelled): " in md
    assert "<details><summary>1 warning(s)</summary>" in md and "- row 4: {Colour} is empty" in md
