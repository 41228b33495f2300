"""Input images a job is made from (a reference to edit or restage, a mask): files checked when
the batch is planned, http(s) URLs downloaded when the job runs (``atelier.sheet.remote``)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from atelier.core.errors import ErrorClass, InputError, ProviderError
from atelier.core.files import regular_file
from atelier.core.i18n import N_, tr
from atelier.core.models import JobSpec
from atelier.sheet import remote


def reference_cell(cell: str, base_dir: Path | None, where: str) -> list[str]:
    """The reference images a cell names: http(s) URLs (several, comma-separated, as
    WooCommerce's ``Images``), downloaded when the job runs (``atelier.sheet.remote``); or one file path,
    checked now (``resolve_image``). Empty for a blank cell.

    Raises:
        InputError: a file that does not exist or is not an image (``where`` names the cell).
    """
    if not cell:
        return []
    if remote.is_url(cell):
        return remote.split_urls(cell)
    return [resolve_image(cell, base_dir, where)]


def resolve_image(raw: str, base_dir: Path | None, where: str) -> str:
    """An input image path (absolute, or relative to ``base_dir``) of a file Pillow can
    identify as an image (its header is read, not its pixels).

    Raises:
        InputError: ``where`` names the field or row when the file is missing, not a regular
            file, or not an image.
    """
    p = Path(raw).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.is_file():
        raise InputError(where, tr("image not found: {path}").format(path=p))
    try:
        regular_file(p, N_("image"))
        with Image.open(p) as im:
            im.format  # noqa: B018 - opening reads and checks the header
    except InputError as e:
        raise InputError(where, e.message) from e
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(
            where, tr("{path} is not an image Atelier can read (PNG, JPEG, WebP…)").format(path=p)
        ) from e
    return str(p.resolve())


def read_inputs(spec: JobSpec) -> tuple[tuple[bytes, ...], bytes | None]:
    """Reference images and mask as bytes (blocking; run it in a thread).

    Raises:
        ProviderError: ``invalid_request`` naming the missing or unreadable file.
    """
    try:
        refs = tuple(_image_bytes(p) for p in spec.reference_images)
        mask = _image_bytes(spec.mask) if spec.mask else None
    except OSError as e:
        raise ProviderError(
            ErrorClass.INVALID_REQUEST,
            tr("Cannot read the reference image {filename}: {reason}.").format(
                filename=e.filename, reason=e.strerror
            ),
        ) from e
    except remote.RemoteImageError as e:
        raise ProviderError(
            ErrorClass.NETWORK if e.transient else ErrorClass.INVALID_REQUEST,
            tr("Cannot download the reference image {where}: {message}.").format(
                where=e.where, message=e.message
            ),
        ) from e
    return refs, mask


def _image_bytes(ref: str) -> bytes:
    """The bytes of a reference image: a file, or a URL's cached download (see ``atelier.sheet.remote``).

    Raises:
        OSError: the file cannot be read.
        remote.RemoteImageError: the URL cannot be downloaded.
    """
    return (remote.fetch(ref) if remote.is_url(ref) else Path(ref)).read_bytes()
