"""Never pay twice for one image: a content key per request, and the images it already made.

An image's key is its request's key plus its sample number. The request key is a SHA-256 over
everything that decides what comes back: provider, model, the job's fields that
``atelier.core.spec_fields.IMAGE`` declares (prompt, negative prompt, size, quality, format,
background, moderation, seed, operation, style preset, input fidelity, the reference and mask
images by content: a local file's SHA-256, a URL as written), and the provider's options (a
ComfyUI workflow by its file's SHA-256 and its input mapping). It leaves out what does not,
each field with its reason in that declaration (the file name, the row's other values…), and
the endpoint address (a key names the model, not the machine that runs it).

Within a batch, the first job asking for a key makes it and the others wait and copy it; an
image any batch in the store made is copied at $0 while its file is there and still hashes as
recorded (``ReusePlan`` says so before anything is paid). ``RunSettings.reuse`` off ("always
make new images", ``--no-reuse``) makes every request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

from atelier.core.models import JobSpec
from atelier.core.spec_fields import IMAGE, IMAGE_WHEN_SET
from atelier.pricing.estimate import Estimate
from atelier.pricing.table import PriceTable
from atelier.providers.registry import resolve_target
from atelier.sheet import remote
from atelier.sheet.plan import Plan
from atelier.store.rows import ImageRow

KEY_VERSION = 1
"""Bumped when what a key covers changes, so old keys never match new requests."""

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """SHA-256 hex of a file's bytes, read in 1 MiB blocks.

    Raises:
        OSError: the file cannot be read.
    """
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def reference_digest(ref: str) -> str:
    """What a reference or mask cell contributes to a key: ``sha256:<hex>`` of a local file
    (cached by path, size and modification time: 10,000 rows often share one photo), the URL
    itself for an address, ``missing:<path>`` for a file that cannot be read (that job fails
    before it is sent anyway)."""
    if remote.is_url(ref):
        return f"url:{ref}"
    p = Path(ref)
    try:
        st = p.stat()
    except OSError:
        return f"missing:{ref}"
    ident = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _digests_lock:
        known = _digests.get(ident)
    if known is None:
        try:
            known = "sha256:" + file_sha256(p)
        except OSError:
            return f"missing:{ref}"
        with _digests_lock:
            _digests[ident] = known
    return known


def _options_digest(options: dict[str, Any]) -> dict[str, Any]:
    out = dict(options)
    workflow = out.get("workflow")
    if isinstance(workflow, str):
        out["workflow"] = reference_digest(workflow)
    return out


_KEY_NAMES = {"transparent_background": "background", "reference_images": "references"}
"""Key entries named otherwise than their ``JobSpec`` field (names of key version 1)."""

_BY_CONTENT = ("reference_images", "mask")
"""Image fields that enter a key by their content (``reference_digest``), not as written."""

_AS_IS = tuple(n for n in IMAGE.fields if n not in _BY_CONTENT and n not in IMAGE_WHEN_SET)
# A key is made per job of every estimate (100,000 rows): one C-level getter, not a loop.
_AS_IS_NAMES = tuple(_KEY_NAMES.get(n, n) for n in _AS_IS)
_AS_IS_VALUES = attrgetter(*_AS_IS)


def _when_set_values(spec: JobSpec) -> tuple[object, ...]:
    return tuple(getattr(spec, name) for name in IMAGE_WHEN_SET)


def request_key(
    provider: str, model: str, spec: JobSpec, provider_options: dict[str, dict[str, Any]]
) -> str:
    """The content key of ``spec``'s request on ``provider``/``model`` (64 hex digits): the
    fields ``atelier.core.spec_fields.IMAGE`` declares (images by content), with the
    provider's options; see the module docstring."""
    ident: dict[str, object] = dict(zip(_AS_IS_NAMES, _AS_IS_VALUES(spec), strict=True))
    for name in IMAGE_WHEN_SET:  # in the key only when set: earlier keys stay valid
        if (value := getattr(spec, name)) is not None:
            ident[name] = value
    ident |= {
        "v": KEY_VERSION,
        "provider": provider,
        "model": model,
        "references": [reference_digest(r) for r in spec.reference_images],
        "mask": reference_digest(spec.mask) if spec.mask else None,
        "options": _options_digest(provider_options.get(provider, {})),
    }
    blob = _KEY_JSON.encode(ident).encode()
    return hashlib.sha256(blob).hexdigest()


# json.dumps(ident, sort_keys=True, ensure_ascii=False), without making an encoder per key.
_KEY_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def image_key(key: str, sample: int) -> str:
    """The key of sample ``sample`` (0-based) of request ``key``."""
    return f"{key}#{sample}"


@dataclass(frozen=True)
class ReusePlan:
    """What a batch makes and what it copies, image by image, before anything is paid.

    Attributes:
        to_make: the specs as they will be requested (``sample_count`` cut to the samples
            not found; specs with nothing to make left out), for pricing.
        reused: images copied instead of made (from this batch or an earlier one).
    """

    to_make: list[JobSpec]
    reused: int = 0


Find = Callable[[list[str]], dict[str, list[ImageRow]]]
"""Earlier images by content key: a store's ``reusable_images``."""


def _found(find: Find, keys: list[str]) -> set[str]:
    """The keys with an earlier image whose file is there (its hash is checked when it is
    copied, ``atelier.output.images.copy_image``)."""
    return {k for k, images in find(keys).items() if any(i.path.is_file() for i in images)}


def _keyed(
    specs: Iterable[tuple[str, str, JobSpec]], provider_options: dict[str, dict[str, Any]]
) -> list[tuple[JobSpec, str]]:
    """Each spec with its request key, each key made once per distinct request: jobs whose
    provider, model and key fields are equal (references and mask as written) have one key,
    so it is hashed once, not once per job. A 100,000-row export under a template naming no
    variant column asks 38 distinct requests: the estimate's keys took 0.9 s of the 4.5 s of
    ``bench/plan_rows.py`` made one per job."""
    made: dict[tuple[object, ...], str] = {}
    out: list[tuple[JobSpec, str]] = []
    for p, m, s in specs:
        ident = (p, m, *_AS_IS_VALUES(s), *_when_set_values(s), tuple(s.reference_images), s.mask)
        try:
            key = made.get(ident)
            hashable = True
        except TypeError:  # a key field holding a list: keyed alone
            key, hashable = None, False
        if key is None:
            key = request_key(p, m, s, provider_options)
            if hashable:
                made[ident] = key
        out.append((s, key))
    return out


def plan_reuse(
    specs: Iterable[tuple[str, str, JobSpec]],
    provider_options: dict[str, dict[str, Any]],
    find: Find | None,
) -> ReusePlan:
    """Which images of ``specs`` (``(provider, model, spec)`` in job order) are made and which
    are copied: the first job of a key makes it, later ones copy it; with ``find``, an image
    an earlier batch made is copied too."""
    items = _keyed(specs, provider_options)
    found: set[str] = set()
    if find is not None:  # asked once per distinct request, for its most samples
        most: dict[str, int] = {}
        for s, k in items:
            most[k] = max(most.get(k, 0), s.sample_count)
        found = _found(find, [image_key(k, i) for k, n in most.items() for i in range(n)])
    found_keys = {k.rpartition("#")[0] for k in found}
    # Key → samples 0..n-1 made (or copied) by an earlier job of the batch: a job makes every
    # sample of its own that is neither found nor made, so they are always a prefix.
    made: dict[str, int] = {}
    to_make: list[JobSpec] = []
    reused = 0
    for spec, key in items:
        n, before = spec.sample_count, made.get(key, 0)
        make = 0
        for i in range(before, n):
            if key not in found_keys or image_key(key, i) not in found:
                make += 1
        reused += n - make
        if n > before:
            made[key] = n
        if make == n:  # nothing of it reused: no copy (100,000 jobs)
            to_make.append(spec)
        elif make:
            to_make.append(spec.model_copy(update={"sample_count": make}))
    return ReusePlan(to_make, reused)


def estimate_with_reuse(
    plan: Plan,
    prices: PriceTable,
    provider: str,
    model: str,
    provider_options: dict[str, dict[str, Any]],
    find: Find | None,
) -> Estimate:
    """The estimate of what ``plan`` pays once identical requests are made once and earlier
    images copied (``find``: the store's, ``None``: this batch only), with the list price
    beside it (``Estimate.list_usd``)."""
    full = prices.estimate_specs(plan.specs, provider, model)
    targets = ((*resolve_target(provider, model, s.provider, s.model), s) for s in plan.specs)
    rp = plan_reuse(targets, provider_options, find)
    if not rp.reused:
        return full
    paid = prices.estimate_specs(rp.to_make, provider, model)
    return replace(paid, models=full.models, reused_images=rp.reused, list_usd=full.total_usd)
