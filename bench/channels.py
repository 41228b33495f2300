"""Benchmark: renditions of 1,000 photo-like 1024² images into four channels (Amazon main,
Rakuten image 1, Yahoo! Shopping image 1, Instagram 4:5). Atelier's images per second
(``fix_channels``: decode, measure, judge, re-frame, pad, scale, encode, write) against a bare
Pillow script doing the same conversions, in the same run, alternating in chunks so both see
the same machine (goal: ratio ≥ 0.8).

    .venv/bin/python bench/channels.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from bench.common import machine, peak_rss_mb

CHANNELS = ("amazon", "rakuten", "yahoo", "instagram")
DISTINCT = 40  # distinct pictures; the rest are copies (each file is still decoded)


def picture(seed: int, size: int = 1024) -> Image.Image:
    """A photo-like product: a shaded, noisy disc filling 55–80 % of a white square."""
    rng = np.random.default_rng(seed)
    fill = 0.55 + 0.25 * rng.random()
    s = int(size * fill)
    y, x = np.mgrid[0:s, 0:s]
    tint = rng.integers(0, 80, 3)
    body = np.stack(
        [100 + tint[0] + 60 * x / s, 50 + tint[1] + 80 * y / s, 120 + tint[2] - 40 * x / s], -1
    )
    body = np.clip(body + rng.normal(0, 7, (s, s, 3)), 0, 255).astype(np.uint8)
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, s - 1, s - 1), fill=255)
    img = Image.new("RGB", (size, size), (255, 255, 255))
    img.paste(Image.fromarray(body), ((size - s) // 2, (size - s) // 2), mask)
    return img


def make_inputs(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True)
    bases = []
    for i in range(min(n, DISTINCT)):
        path = folder / f"p{i:04d}.jpg"
        picture(i).save(path, quality=92)
        bases.append(path.read_bytes())
    paths = []
    for i in range(n):
        path = folder / f"p{i:04d}.jpg"
        if i >= DISTINCT:
            path.write_bytes(bases[i % DISTINCT])
        paths.append(path)
    return paths


# --- the bare Pillow script: the same conversions, written out by hand -----------------------


def _on_canvas(product: Image.Image, fill: float, aspect: float) -> Image.Image:
    bw, bh = product.size
    w = max(bw / fill, bh * aspect / fill)
    cw, ch = max(bw, round(w)), max(bh, round(w / aspect))
    canvas = Image.new("RGB", (cw, ch), (255, 255, 255))
    canvas.paste(product, ((cw - bw) // 2, (ch - bh) // 2))
    return canvas


def bare(path: Path, out: Path) -> None:
    """Amazon: crop to the product, 90 % on a white square. Rakuten: as it is. Yahoo!: crop,
    the largest fill in 5 % steps from 88 % that clears the top-left 30 % (a disc: known
    geometry), named by code. Instagram: pad to 4:5, 1080×1350. All JPEG at quality 92."""
    img = Image.open(path)
    img.load()
    rgb = img.convert("RGB")
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255))).convert("L")
    box = diff.point(lambda v: 255 if v > 24 else 0).getbbox()
    assert box is not None
    product = rgb.crop(box)
    _on_canvas(product, 0.9, 1.0).save(out / "amazon" / path.name, quality=92)
    rgb.save(out / "rakuten" / path.name, quality=92)
    fill = 0.88
    while 0.5 - fill * 0.5 * 0.7071 < 0.31:
        fill -= 0.05
    _on_canvas(product, fill, 1.0).save(out / "yahoo" / path.name, quality=92)
    w, h = rgb.size
    padded = Image.new("RGB", (w, round(w * 5 / 4)), (255, 255, 255))
    padded.paste(rgb, (0, (padded.height - h) // 2))
    padded.resize((1080, 1350), Image.Resampling.LANCZOS).save(
        out / "instagram" / path.name, quality=92
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100 images instead of 1,000")
    args = ap.parse_args()
    n = 100 if args.quick else 1000
    print(f"machine: {machine()}")
    from atelier.output.channels.check import check_file
    from atelier.output.channels.fix import fix_channels
    from atelier.output.channels.profiles import profile

    profiles = [profile(c) for c in CHANNELS]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = make_inputs(root / "in", n)
        for name in ("atelier", "bare"):
            for c in CHANNELS:
                (root / name / c).mkdir(parents=True)

        def ours(part: list[Path]) -> float:
            t0 = time.perf_counter()
            for p in part:
                fix_channels(
                    p, profiles, lambda pr: root / "atelier" / pr.id, recheck=False, use_ocr=False
                )
            return time.perf_counter() - t0

        def theirs(part: list[Path]) -> float:
            t0 = time.perf_counter()
            for p in part:
                bare(p, root / "bare")
            return time.perf_counter() - t0

        ours(paths[:2]), theirs(paths[:2])  # warm-up: imports, first allocations
        t_atelier = t_bare = 0.0
        chunk = 25
        for i, start in enumerate(range(0, n, chunk)):
            part = paths[start : start + chunk]
            # Each goes first every other chunk: neither always gets the warmer caches.
            if i % 2:
                t_bare += theirs(part)
                t_atelier += ours(part)
            else:
                t_atelier += ours(part)
                t_bare += theirs(part)
        # The renditions are the same pictures: the same sizes (to 2 %), and Atelier's pass the channels.
        for i in range(0, n, max(1, n // 10)):
            for pr in profiles:
                ours = next((root / "atelier" / pr.id).glob(paths[i].stem + ".*"))
                theirs = root / "bare" / pr.id / paths[i].name
                # Atelier measures the box on a half-size copy: within a few pixels.
                a, b = Image.open(ours).size, Image.open(theirs).size
                assert abs(a[0] - b[0]) <= 0.02 * b[0] and abs(a[1] - b[1]) <= 0.02 * b[1], (
                    pr.id,
                    a,
                    b,
                )
                judged = check_file(ours, pr, use_ocr=False)
                assert judged.passed or {r.kind for r in judged.failed()} <= {"file_name_code"}, (
                    pr.id,
                    [(r.kind, r.measured) for r in judged.failed()],
                )
    ips_atelier, ips_bare = n / t_atelier, n / t_bare
    ratio = ips_atelier / ips_bare
    print(f"{n:,} images × {len(CHANNELS)} channels ({', '.join(CHANNELS)})")
    print(
        f"Atelier: {t_atelier:.1f} s, {ips_atelier:.1f} images/s ({ips_atelier * len(CHANNELS):.1f} renditions/s)"
    )
    print(f"bare Pillow: {t_bare:.1f} s, {ips_bare:.1f} images/s")
    print(
        f"SUMMARY channels: Atelier {ips_atelier:.1f} images/s vs bare Pillow {ips_bare:.1f} "
        f"= ratio {ratio:.2f}, peak RSS {peak_rss_mb():.0f} MB "
        f"(goal ≥ 0.8: {'met' if ratio >= 0.8 else 'NOT MET'})"
    )


if __name__ == "__main__":
    main()
