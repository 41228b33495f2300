"""Reuse shared by the team (issue 16, "reuse keys from Pay less are shared too"): an image any
worker made is copied at $0 by every worker for a while, whoever's batch asks for it again.

Keys (``atelier:`` prefix):

- ``made:<image key>`` (``atelier.pricing.reuse.image_key``: the request's content key and the sample):
  JSON ``{"image": <Redis key of its bytes>, "seed": int | null, "model": str}``, expiring
  after the worker's sharing window (``SHARE_S`` unless ``atelier worker --share-hours``).
- the bytes: the ``img:T:J:S`` key the image went back to its submitter through (the
  submitter, having written it, lets it expire with the window instead of deleting it); for a
  delivered batch the worker writes that key itself.

Before a worker runs a job, each of its samples the team made is *staged*: written into the
worker's scratch folder and recorded in its store under its content key, so the engine's
own reuse (``atelier.engine.copying``) copies it, checks its hash and delivers it like any reused image,
and only the samples not found are paid for. Staged files are removed after the job.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atelier.core.models import JobSpec, RunSettings
from atelier.pricing.reuse import image_key, request_key
from atelier.providers.registry import resolve_target
from atelier.store import Store
from atelier.store.images import Made

log = logging.getLogger(__name__)

PREFIX = "atelier:"
SHARE_S = 24 * 3600
"""How long a made image stays reusable by the team by default (s): a working day and the
next morning, without holding a week of pictures in Redis's memory."""


def made_key(content_key: str) -> str:
    """The index entry of image ``content_key`` (``atelier.pricing.reuse.image_key``)."""
    return PREFIX + f"made:{content_key}"


def job_key(settings: RunSettings, spec: JobSpec) -> str:
    """The request key (``atelier.pricing.reuse.request_key``) of ``spec`` in a batch of ``settings``, as
    the engine computes it when it runs the job (blocking: it may hash reference files)."""
    provider, model = resolve_target(settings.provider, settings.model, spec.provider, spec.model)
    return request_key(provider, model, spec, settings.provider_options)


@dataclass(frozen=True)
class Staged:
    """Images staged for one job: their sample indices in the worker's cache job, and files."""

    samples: list[int]
    files: list[Path]


class SharedImages:
    """A worker's side of the team's reuse.

    Args:
        r: the queue's Redis client (bytes replies).
        store: the worker's store (staged images are recorded in a cache batch of its own).
        folder: where staged files are written.
        share_s: how long images this worker makes stay reusable (s); 0: it shares none
            (it still copies what others share).
    """

    def __init__(self, r: Any, store: Store, folder: Path, share_s: int = SHARE_S) -> None:
        self.r, self.store, self.folder, self.share_s = r, store, folder, max(0, share_s)
        self._cache_job: int | None = None
        self._sample = itertools.count()

    def _cache(self) -> int:
        if self._cache_job is None:
            bid = self.store.create_batch(
                name="team images",
                fingerprint=f"team-images:{uuid.uuid4().hex}",
                output_dir=self.folder,
                provider="draft",
                model="draft",
                source="team",
                settings={},
                specs=[
                    JobSpec(prompt="(images the team made, staged for reuse)", output_path="x.png")
                ],
                estimated_cost=0.0,
            )
            self._cache_job = self.store.jobs(bid)[0].id
        return self._cache_job

    async def stage(self, key: str, spec: JobSpec) -> Staged:
        """Stage the samples of request ``key`` the team made (none when nothing is shared)."""
        names = [made_key(image_key(key, i)) for i in range(spec.sample_count)]
        found = await self.r.mget(names)
        staged = Staged([], [])
        for idx, raw in enumerate(found):
            if raw is None:
                continue
            entry = json.loads(raw)
            data = await self.r.get(entry["image"])
            if data is None:  # its bytes expired first: made again
                continue
            path = self.folder / f"{uuid.uuid4().hex}.{spec.output_format}"
            await asyncio.to_thread(_write, path, bytes(data))
            sample = next(self._sample)
            made = Made(
                str(entry.get("model") or ""),
                0.0,
                None,
                image_key(key, idx),
                hashlib.sha256(data).hexdigest(),
            )
            self.store.add_image(
                self._cache(), sample, path, None, seed=entry.get("seed"), made=made
            )
            staged.samples.append(sample)
            staged.files.append(path)
        return staged

    def unstage(self, staged: Staged) -> None:
        """Remove a job's staged images (records and files)."""
        if staged.samples:
            self.store.forget_images(self._cache(), staged.samples)
        for p in staged.files:
            p.unlink(missing_ok=True)

    async def publish(self, images: list[dict[str, Any]], data: dict[str, bytes]) -> None:
        """Share images this worker made: ``images`` are outcome entries carrying their
        ``content_key``; ``data`` holds the bytes of those whose key nobody wrote (a
        delivered batch's), written here for the window."""
        if not self.share_s:
            return
        async with self.r.pipeline(transaction=False) as p:
            for img in images:
                if not img.get("content_key"):
                    continue
                if img["key"] in data:
                    p.set(img["key"], data[img["key"]], ex=self.share_s)
                entry = {"image": img["key"], "seed": img.get("seed"), "model": img.get("model")}
                p.set(made_key(str(img["content_key"])), json.dumps(entry), ex=self.share_s)
            await p.execute()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
