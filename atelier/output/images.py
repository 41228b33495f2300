"""Writing results: validated images in the requested format, with metadata, atomically.

* The image is decoded with Pillow first: a truncated or undecodable image never reaches disk.
* It is converted when the provider returned another format than the one requested.
* Prompt and parameters are embedded: a PNG ``iTXt`` chunk ``atelier`` (and ``parameters``
  for tools that read AUTOMATIC1111-style text), EXIF ``UserComment`` (UTF-16) and an ASCII-safe
  ``ImageDescription`` for JPEG and WebP. Never the API key: metadata is built from the
  job only. (The encoding itself lives in ``atelier.output.image_encoding``.)
* Files are written to a temporary name in the same folder, fsynced, then renamed, so a
  crash leaves either the old state or the whole file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.ExifTags import IFD

from atelier import __version__
from atelier.core.errors import OutputError
from atelier.core.files import atomic_write
from atelier.core.i18n import tr
from atelier.core.models import JobSpec
from atelier.core.processes import pid_alive
from atelier.core.spec_fields import JOB_KEY, METADATA
from atelier.output.image_encoding import encode_image

Image.MAX_IMAGE_PIXELS = 64_000_000  # 8K square; above this a response is refused, not decoded
# Atelier's temporary files: ".{name}.atelier-{pid}-{16 hex digits}.tmp" beside the file being
# written. Only names of exactly that shape are ever deleted, so a user's own "notes.atelier-tmp"
# (or anything else) in an output folder is never touched.
_TMP_RE = re.compile(r"^\..+\.atelier-([0-9]+)-[0-9a-f]{16}\.tmp$")
REPORT_NAME = "atelier-report.json"
REPORT_CSV_NAME = "atelier-report.csv"
THUMB_SIZE = 256


def made_by_atelier(path: Path) -> bool:
    """Whether the file at ``path`` is an image Atelier wrote (its embedded metadata says so).
    Anything else in an output folder is the user's, and is never replaced unless asked."""
    meta = read_metadata(path)
    return meta is not None and str(meta.get("generator", "")).startswith("Atelier")


def embedded_key(path: Path) -> str | None:
    """The ``job_key`` embedded in the image at ``path`` (see ``image_metadata``), else
    ``None`` (no such file, not an image, or not one Atelier wrote)."""
    meta = read_metadata(path) if path.is_file() else None
    key = meta.get("job_key") if meta else None
    return key if isinstance(key, str) else None


def free_name(root: Path, rel: str, key: str | None) -> str:
    """Where the image whose ``job_key`` is ``key`` goes: ``rel`` under ``root``, or
    ``stem-2.ext``, ``stem-3.ext``…, the first whose file is absent or already holds that
    very image (an earlier attempt of the same job, a file a killed run wrote). Any other file
    is left alone, the user's or another image of Atelier's: only a job's own files are ever
    its versions. Blocking (reads the files it finds).
    """
    p = Path(rel)
    n = 1
    while True:
        cand = rel if n == 1 else str(p.with_name(f"{p.stem}-{n}{p.suffix}"))
        path = root / cand
        if not path.exists() or (key is not None and embedded_key(path) == key):
            return cand
        n += 1


def version_names(
    root: Path, provider: str, model: str, spec: JobSpec, version: int, overwrite: bool = False
) -> list[str]:
    """The files of version ``version`` (2 and later) of a job, per sample: its version names
    (``cup.v2.png``), each moved to a free name (``cup.v2-2.png``) when another file holds it,
    unless the batch says ``overwrite``. The same answer for every run while the folder is
    unchanged, so a resumed run and ``atelier.engine.recovery`` find what an earlier one wrote. Blocking.
    """
    names = spec.sample_paths(version)
    if overwrite:
        return names
    return [free_name(root, n, job_key(provider, model, spec, i)) for i, n in enumerate(names)]


class UserFileError(OutputError):
    """The file an image would be written to exists and was not made by Atelier."""


def read_metadata(path: Path) -> dict[str, Any] | None:
    """The ``atelier`` metadata embedded in an image written by Atelier, else ``None``."""
    try:
        with Image.open(path) as img:
            img.load()
            text = getattr(img, "text", {}) or {}
            if "atelier" in text:
                return dict(json.loads(text["atelier"]))
            raw = img.getexif().get_ifd(IFD.Exif).get(0x9286)
    except (OSError, ValueError, SyntaxError):
        return None
    if isinstance(raw, bytes) and raw.startswith(b"UNICODE\x00"):
        try:
            return dict(json.loads(raw[8:].decode("utf-16-be")))
        except (UnicodeDecodeError, ValueError):
            return None
    return None


def thumbnail_path(image_path: Path, cache_dir: Path) -> Path:
    """Where the thumbnail of ``image_path`` lives in ``cache_dir`` (keyed by absolute path)."""
    digest = hashlib.sha1(str(image_path.resolve()).encode("utf-8")).hexdigest()[:24]
    return cache_dir / digest[:2] / f"{digest}.png"


def write_thumbnail(img: Image.Image, image_path: Path, cache_dir: Path) -> Path | None:
    """Write a ≤256 px PNG thumbnail for ``image_path``; a failure only costs the thumbnail."""
    dest = thumbnail_path(image_path, cache_dir)
    try:
        thumb = img.copy()
        thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
        buf = io.BytesIO()
        thumb.save(buf, "PNG", compress_level=1)
        atomic_write(dest, buf.getvalue())
        return dest
    except (OSError, OutputError, ValueError):
        return None


def ensure_thumbnail(image_path: Path, cache_dir: Path) -> Path | None:
    """The cached thumbnail of ``image_path``, made now if missing or older than the image."""
    dest = thumbnail_path(image_path, cache_dir)
    try:
        if dest.exists() and dest.stat().st_mtime >= image_path.stat().st_mtime:
            return dest
        with Image.open(image_path) as img:
            img.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))  # fast JPEG downscale on decode
            img.load()
            return write_thumbnail(img, image_path, cache_dir)
    except (OSError, ValueError, SyntaxError):
        return None


def save_image(
    out_dir: Path,
    rel_path: str,
    data: bytes,
    output_format: str,
    meta: dict[str, Any],
    thumb_dir: Path | None,
    size: tuple[int, int] | None = None,
    overwrite: bool = False,
    preview: Image.Image | None = None,
) -> tuple[Path, Path | None, str]:
    """Encode, write atomically and thumbnail one image (blocking: run it in a thread). A file
    at the destination that Atelier did not make is replaced only with ``overwrite``.
    ``preview``: ``data`` already decoded by the caller (the quality checks,
    ``atelier.output.qa``): when the file is written without decoding its pixels, the
    thumbnail is made from it instead of reading the file back.

    The output folder itself is never created here: if it vanished (deleted, or its drive
    unplugged) that is an error, not a reason to fill another disk.

    Returns:
        ``(image_path, thumbnail_path or None, SHA-256 hex of the file written)``.
    Raises:
        ProviderError: undecodable image (see ``encode_image``).
        UserFileError: the destination is the user's own file (``payload``: the image).
        OutputError: the path escapes ``out_dir``, the folder is gone, or the write failed;
            ``payload`` then holds the encoded file.
    """
    root = out_dir.resolve()
    dest = (root / rel_path).resolve()
    if not dest.is_relative_to(root):
        raise OutputError(
            tr("{path!r} points outside the output folder {root}.").format(path=rel_path, root=root)
        )
    file_bytes, img = encode_image(data, output_format, meta, size)
    _place(root, dest, file_bytes, overwrite)
    thumb = None
    if thumb_dir is not None:
        shown = img if img is not None else preview
        thumb = (
            write_thumbnail(shown, dest, thumb_dir)
            if shown is not None
            else ensure_thumbnail(dest, thumb_dir)
        )
    return dest, thumb, hashlib.sha256(file_bytes).hexdigest()


def _place(root: Path, dest: Path, file_bytes: bytes, overwrite: bool) -> None:
    """Write ``file_bytes`` at ``dest`` inside ``root`` unless it is the user's own file or the
    folder is gone (see ``save_image``)."""
    if not overwrite and dest.exists() and not made_by_atelier(dest):
        raise UserFileError(
            tr("{dest} exists and was not made by Atelier; it was left as it is.").format(
                dest=dest
            ),
            file_bytes,
        )
    if not root.is_dir():
        raise OutputError(
            tr(
                "The output folder {root} no longer exists (deleted, or its drive unplugged). Put it back and resume the batch."
            ).format(root=root),
            file_bytes,
        )
    try:
        atomic_write(dest, file_bytes)
    except OutputError as e:
        e.payload = file_bytes
        raise


def copy_image(
    out_dir: Path,
    rel_path: str,
    source: Path,
    sha256: str,
    thumb_dir: Path | None,
    overwrite: bool = False,
) -> tuple[Path, Path | None] | None:
    """Write a byte-identical copy of ``source`` at ``rel_path`` (a reused image, see
    ``atelier.pricing.reuse``), under the same rules as ``save_image`` (blocking: run it in a thread).

    Returns:
        ``(image_path, thumbnail_path or None)``, or ``None`` when ``source`` is gone or no
        longer hashes to ``sha256`` (then the image is made instead).
    Raises:
        UserFileError, OutputError: as ``save_image``.
    """
    try:
        data = source.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    root = out_dir.resolve()
    dest = (root / rel_path).resolve()
    if not dest.is_relative_to(root):
        raise OutputError(
            tr("{path!r} points outside the output folder {root}.").format(path=rel_path, root=root)
        )
    if dest != source.resolve():
        _place(root, dest, data, overwrite)
    thumb = ensure_thumbnail(dest, thumb_dir) if thumb_dir is not None else None
    return dest, thumb


def job_key(provider: str, model: str, spec: JobSpec, sample: int) -> str:
    """Identity of one image: same provider, model, sample and the job's fields that
    ``atelier.core.spec_fields.JOB_KEY`` declares (prompt, parameters, seed, path).

    Embedded in the image metadata so that a file found on disk after a crash is adopted
    only when it really is this image. Returns 32 hex digits.
    """
    values = [getattr(spec, name) for name in JOB_KEY.fields]
    at = JOB_KEY.fields.index("output_path")  # key v1: the sample number goes before the path
    ident = [provider, model, *values[:at], sample, *values[at:]]
    return hashlib.sha256(json.dumps(ident, ensure_ascii=False).encode()).hexdigest()[:32]


def image_metadata(
    provider: str,
    model: str,
    spec: JobSpec,
    sample: int,
    seed: int | None,
    revised_prompt: str | None,
) -> dict[str, Any]:
    """What is embedded in image ``sample`` (0-based) of a job: the generator, provider, model,
    the job's fields that ``atelier.core.spec_fields.METADATA`` declares, the seed the provider
    used (else the job's), the 1-based sample number and the ``job_key``. Built from the job only, so a key can never reach a file."""
    meta: dict[str, Any] = {name: getattr(spec, name) for name in METADATA.fields}
    return meta | {
        "generator": f"Atelier {__version__}",
        "provider": provider,
        "model": model,
        "seed": seed if seed is not None else spec.seed,
        "sample": sample + 1,
        "job_key": job_key(provider, model, spec, sample),
        "revised_prompt": revised_prompt,
    }


def spool_path(spool_dir: Path, job_id: int, sample: int) -> Path:
    """Where an image that could not be written waits (``<job>-<sample>.img``)."""
    return spool_dir / f"{job_id}-{sample}.img"


def spool_image(
    spool_dir: Path, job_id: int, sample: int, rel_path: str, file_bytes: bytes
) -> bool:
    """Keep an encoded image that could not reach the output folder (paid for, not yet
    delivered). Returns ``False`` when the spool cannot be written either."""
    try:
        spool_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(
            spool_path(spool_dir, job_id, sample).with_suffix(".json"),
            json.dumps({"rel_path": rel_path}).encode(),
        )
        atomic_write(spool_path(spool_dir, job_id, sample), file_bytes)
        return True
    except (OSError, OutputError):
        return False


def spooled(spool_dir: Path) -> list[tuple[int, int, str, Path]]:
    """Spooled images as ``(job_id, sample, rel_path, file)``."""
    out: list[tuple[int, int, str, Path]] = []
    if not spool_dir.is_dir():
        return out
    for f in sorted(spool_dir.glob("*.img")):
        try:
            job, sample = (int(x) for x in f.stem.split("-"))
            rel = json.loads(f.with_suffix(".json").read_text(encoding="utf-8"))["rel_path"]
        except (OSError, ValueError, KeyError):
            continue
        out.append((job, sample, str(rel), f))
    return out


def deliver_spooled(
    out_dir: Path, rel_path: str, spooled_file: Path, thumb_dir: Path | None
) -> tuple[Path, Path | None]:
    """Move a spooled image into the output folder (atomically) and thumbnail it. A file at
    ``rel_path`` that is not this image (the user's, which is why it was spooled) is left
    alone: the image takes a free name beside it (``free_name``).

    Raises:
        OutputError: the output folder still cannot take it, or ``rel_path`` leaves it.
    """
    root = out_dir.resolve()
    data = spooled_file.read_bytes()
    rel_path = free_name(root, rel_path, embedded_key(spooled_file))
    dest = (root / rel_path).resolve()
    if not dest.is_relative_to(root):
        raise OutputError(
            tr("{path!r} points outside the output folder {root}.").format(path=rel_path, root=root)
        )
    atomic_write(dest, data)
    thumb = ensure_thumbnail(dest, thumb_dir) if thumb_dir is not None else None
    with contextlib.suppress(OSError):
        spooled_file.unlink()
        spooled_file.with_suffix(".json").unlink()
    return dest, thumb


def temp_file_owner(name: str) -> int | None:
    """The pid of the process writing ``name`` when it is one of Atelier's own temporary files
    (see ``atomic_write``), else ``None``."""
    m = _TMP_RE.match(name)
    return int(m[1]) if m else None


def clean_temp_files(out_dir: Path) -> int:
    """Remove temporary files a killed run left in ``out_dir`` (only names ``atomic_write``
    makes, and only of a process that has ended: the pid is in the name); returns how many.

    A file of a process still running (another Atelier writing into the same folder, or
    this one's other batch) is being written: removing it made that write fail and stopped
    its batch. Another machine's writes into a shared folder are not told apart (the name
    holds no host)."""
    n = 0
    if not out_dir.exists():
        return 0
    for p in out_dir.rglob("*.tmp"):
        pid = temp_file_owner(p.name)
        if pid is not None and pid != os.getpid() and not pid_alive(pid):
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
    return n
