"""``atelier worker``: takes jobs from the team queue, makes them with this machine's keys and
endpoints, and records each outcome once.

Each job runs as a one-job batch of this worker's own store (``<ATELIER_HOME>/worker.db``)
through the ordinary ``Engine``, so retries, timeouts, pricing, image writing and delivery
are the studio's own; the engine's lanes are paced by ``SharedLimit`` so every worker on one
key keeps to the key's limit together.

Delivery: a batch with delivery targets is delivered from here by the engine's courier (the
outcome then carries no image); otherwise the images go back to the submitter through Redis
(``img:T:J:S`` keys, written in the same atomic step as the outcome). Either way the images it
made are then shared for the team's reuse, and what the team made is staged before a job runs
(``atelier.team.shared_images``); an edit job's reference files are fetched first
(``atelier.team.references``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core import paths
from atelier.core.delivery_config import Delivery
from atelier.core.i18n import tr
from atelier.core.models import RunSettings
from atelier.core.secrets import get_key
from atelier.core.settings import Settings
from atelier.core.status import JobStatus
from atelier.engine.engine import Engine
from atelier.engine.service import load_prices, make_provider_factory
from atelier.pricing.budget import Account, Budget
from atelier.providers.registry import PROVIDERS, capabilities_of
from atelier.store import Store
from atelier.team import references
from atelier.team.limits import SharedBudget, SharedLimit
from atelier.team.queue import Entry, Malformed, QueueError, TeamBatch, TeamQueue, image_key
from atelier.team.shared_images import SHARE_S, SharedImages, Staged, job_key
from atelier.team.split import per_job_delivery

log = logging.getLogger(__name__)


def _forget_old(folder: Path, age_s: float) -> None:
    """Remove the files in ``folder`` older than ``age_s`` (reference files fetched for
    batches whose copies on the queue have expired too)."""
    cutoff = time.time() - age_s
    for p in folder.glob("*") if folder.is_dir() else []:
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < cutoff:
                p.unlink()


def servable_providers() -> list[str]:
    """The providers this machine can serve: those needing no key, and those whose key is in
    its keyring or environment."""
    out = []
    for name in PROVIDERS:
        caps = capabilities_of(name)
        if not caps.needs_key or get_key(name).key:
            out.append(name)
    return out


@dataclass
class WorkerStats:
    """What a worker did: ``completed`` (outcomes it recorded), ``duplicates`` (jobs it made
    that another worker had completed first), ``parked`` (set aside: batch paused, halted),
    ``taken_over`` (entries it took from a dead worker), ``set_aside`` (entries it put on the
    dead-letter stream: a batch the queue does not have; malformed entries are set aside as
    they are read, by ``TeamQueue``)."""

    completed: int = 0
    duplicates: int = 0
    parked: int = 0
    taken_over: int = 0
    set_aside: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Worker:
    """One worker process's loop.

    Args:
        queue: the team queue.
        providers: the providers whose jobs it takes (default ``servable_providers()``).
        concurrency: jobs at once (each also paced by its provider's lane and shared limit).
        visibility_timeout_s: how long a job taken by a worker that stopped answering waits
            before another worker takes it over; a live worker renews its jobs every third
            of it.
        home: where its own store and scratch files live (default ``ATELIER_HOME/worker``).
        settings: its Settings (endpoints); default ``Settings.load()``.
        share_s: how long the images it makes stay reusable by the team (s; 0: none,
            ``atelier.team.shared_images``).
    """

    def __init__(
        self,
        queue: TeamQueue,
        providers: list[str] | None = None,
        concurrency: int = 4,
        visibility_timeout_s: float = 60.0,
        home: Path | None = None,
        settings: Settings | None = None,
        share_s: int = SHARE_S,
    ) -> None:
        self.q = queue
        self.providers = providers or servable_providers()
        self.concurrency = max(1, concurrency)
        self.visibility_ms = int(visibility_timeout_s * 1000)
        self.home = home or paths.home() / "worker"
        self.home.mkdir(parents=True, exist_ok=True)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.store = Store(self.home / "worker.db")
        # Each job is a batch of its own here: keys are looked up once per provider, not per
        # job (a keyring lookup is a D-Bus round trip; thousands of them swamp the daemon).
        self._keys: dict[str, str | None] = {}
        self._limits: dict[tuple[str, int | None, int | None], SharedLimit] = {}
        factory = make_provider_factory(settings or Settings.load(), self._key)
        self.engine = Engine(self.store, factory)
        self.engine.prices = load_prices()
        # Only list prices are asked here (the queue books the shared cap): no run to halt.
        self.budget: Budget[Account] = Budget(self.engine.prices, lambda run, reason: None)
        self.engine.shared_pacing = self._pacing
        self.stats = WorkerStats()
        self.shared = SharedImages(self.q.r, self.store, self.home / "shared", share_s)
        self.refs_dir = self.home / "references"
        _forget_old(self.refs_dir, references.TTL_S)
        self._in_flight: dict[str, Entry] = {}
        self._batches: dict[str, TeamBatch] = {}

    def _key(self, provider: str) -> str | None:
        if provider not in self._keys:
            self._keys[provider] = get_key(provider).key
        return self._keys[provider]

    def _pacing(self, provider: str, rs: RunSettings) -> SharedLimit:
        # One per provider and configured limits for the worker's life, not per job (each job
        # is a run of its own): what it learned from the provider's headers is kept.
        caps = capabilities_of(provider)
        limits = rs.rate_limits.get(provider)
        rpm, ipm = (limits.rpm, limits.ipm) if limits else (None, None)
        if (provider, rpm, ipm) not in self._limits:
            key = self._key(provider) if caps.key_env_var else None
            self._limits[provider, rpm, ipm] = SharedLimit(
                self.q.r, provider, key, rpm=rpm, ipm=ipm, window=caps.rate_limit
            )
        return self._limits[provider, rpm, ipm]

    async def run(self, stop: asyncio.Event | None = None) -> WorkerStats:
        """Take and make jobs until ``stop`` is set (or forever); a lost connection to Redis
        is waited out (redis-py retries each command through a restart)."""
        stop = stop or asyncio.Event()
        for p in self.providers:
            await self.q.ensure_group(p)
        tasks: set[asyncio.Task[None]] = set()
        keeper = asyncio.create_task(self._keep_alive())
        log.info("worker %s: serving %s", self.name, ", ".join(self.providers))
        try:
            while not stop.is_set():
                free = self.concurrency - len(tasks)
                if free <= 0:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    entries = await self._next(free)
                except Exception as e:  # Redis gone past the client's retries: wait, go on
                    log.warning("worker %s: the queue is not answering (%s)", self.name, e)
                    await asyncio.sleep(1.0)
                    continue
                for entry in entries:
                    self._in_flight[entry.entry_id] = entry
                    t = asyncio.create_task(self._handle(entry))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
        finally:
            keeper.cancel()
            for t in list(tasks):
                t.cancel()
            await asyncio.gather(keeper, *tasks, return_exceptions=True)
        return self.stats

    async def _next(self, free: int) -> list[Entry]:
        taken = await self.q.take_over(self.name, self.providers, self.visibility_ms, free)
        self.stats.taken_over += len(taken)
        if taken:
            return taken
        return await self.q.claim(self.name, self.providers, free, block_ms=500)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.visibility_ms / 3000)
            with contextlib.suppress(Exception):
                await self.q.keep(self.name, list(self._in_flight.values()))

    async def _batch(self, tid: str) -> TeamBatch:
        if tid not in self._batches:
            self._batches[tid] = await self.q.batch(tid)
        return self._batches[tid]

    async def _handle(self, entry: Entry) -> None:
        """One entry, start to outcome. An error here leaves the entry unacknowledged: it is
        taken over after the visibility timeout (by this worker or another)."""
        try:
            await self._handle_entry(entry)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker %s: job %s of %s", self.name, entry.job, entry.batch)
        finally:
            self._in_flight.pop(entry.entry_id, None)

    async def _handle_entry(self, entry: Entry) -> None:
        if await self.q.is_done(entry.batch, entry.job):
            await self.q.acknowledge(entry)
            return
        state, _ = await self.q.state(entry.batch)
        if not state:  # no such batch (gone with a Redis restart, or never there): set aside
            await self._set_aside(
                entry,
                tr("The team queue has no batch {batch}.").format(batch=entry.batch),
            )
            return
        if state == "cancelled":
            await self._record(entry, {"kind": "cancelled"}, {})
            return
        if state in ("paused", "halted"):
            await self.q.park(entry)
            self.stats.parked += 1
            return
        try:
            batch = await self._batch(entry.batch)
        except QueueError as e:  # its record cannot be read: every worker would fail the same
            await self._set_aside(entry, str(e))
            return
        booked = await self._book(entry, batch)
        if booked is None:
            await self.q.park(entry)
            self.stats.parked += 1
            return
        spent = 0.0
        try:
            outcome, images = await self._make(entry, batch, booked)
            spent = float(outcome.get("cost") or 0.0)
            await self._record(entry, outcome, images)
        finally:
            if batch.settings.budget_usd is not None:
                await SharedBudget(self.q.r, entry.batch).settle(booked, spent)

    async def _set_aside(self, entry: Entry, reason: str) -> None:
        """Put ``entry`` on the dead-letter stream with ``reason``, instead of leaving it to
        come back after every visibility timeout."""
        await self.q.dead_letter(Malformed.of(entry, reason))
        self.stats.set_aside += 1

    async def _book(self, entry: Entry, batch: TeamBatch) -> float | None:
        """The job's worst case booked against the batch's cap (0 without one); ``None``
        when the cap (or an unknown price) stops it, the batch then halted for everyone."""
        cap = batch.settings.budget_usd
        if cap is None:
            return 0.0
        provider = self.q.provider_of(batch.settings, entry.spec)
        model = entry.spec.model or batch.settings.model
        worst = self.budget.list_cost(provider, model, entry.spec, entry.spec.sample_count)
        if worst is None:
            await self.q.halt(
                entry.batch,
                tr(
                    "Budget cap of ${cap:.2f}: the price of {provider} {model} is unknown, so no job was started that could exceed it."
                ).format(cap=cap, provider=provider, model=model),
            )
            return None
        if not await SharedBudget(self.q.r, entry.batch).reserve(cap, worst):
            fresh = await self.q.batch(entry.batch)  # a team member may have raised it
            self._batches[entry.batch] = fresh
            if fresh.settings.budget_usd != cap:
                return await self._book(entry, fresh)
            await self.q.halt(
                entry.batch,
                tr(
                    "The budget cap of ${cap:.2f} is reached: jobs not started wait until it is raised."
                ).format(cap=cap),
            )
            return None
        return worst

    async def _make(
        self, entry: Entry, batch: TeamBatch, booked: float
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Run the job as a one-job batch of this worker's store; returns its outcome and,
        when the batch has no delivery target, its images' bytes by Redis key."""
        await self.q.started(entry, self.name)
        out_dir = self.home / "out" / entry.batch / uuid.uuid4().hex[:8]
        settings = batch.settings.model_copy(
            update={"delivery": per_job_delivery(batch.settings.delivery)}
        )
        if settings.budget_usd is not None:  # this run may spend what was booked, no more
            settings = settings.model_copy(update={"budget_usd": booked})
        # The submitter's reference and workflow files, as this machine's (fetched once each).
        spec, settings = await references.localize(
            self.q.r, entry.batch, entry.spec, settings, self.refs_dir
        )
        bid = self.store.create_batch(
            name=f"{batch.name} · {entry.job}",
            fingerprint=f"team:{entry.batch}:{entry.job}:{uuid.uuid4().hex}",
            output_dir=out_dir,
            provider=settings.provider,
            model=settings.model,
            source="team",
            settings=settings.model_dump(mode="json"),
            specs=[spec],
            estimated_cost=booked or None,
        )
        # What the team made already is staged for the engine's own reuse to copy at $0.
        staged = Staged([], [])
        if settings.reuse:
            key = await asyncio.to_thread(job_key, settings, spec)
            staged = await self.shared.stage(key, spec)
        try:
            await self.engine.run(bid)
            return await self._outcome(entry, bid, settings, out_dir)
        finally:  # after the outcome is read: a copy names the staged image it copies
            self.shared.unstage(staged)

    async def _outcome(
        self, entry: Entry, bid: int, settings: RunSettings, out_dir: Path
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """What one-job batch ``bid`` came to, as ``_make`` returns it."""
        job = self.store.jobs(bid)[0]
        kind, error = job.status.value, job.error
        if job.status not in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
            # The run stopped before the job (its scratch folder broke): a failure to retry.
            kind = "failed"
            error = error or tr(
                "The worker {worker} could not run this job; its log says why."
            ).format(worker=self.name)
        outcome: dict[str, Any] = {
            "kind": kind,
            "worker": self.name,
            "cost": job.cost,
            "attempts": job.attempts,
            "duration_ms": job.duration_ms,
            "error": error,
            "error_type": job.error_type,
            "delivered": settings.delivery is not None,
            # A failed job carries its spec, so any team member can put it back ("retry").
            "spec": entry.spec.model_dump_json() if kind == "failed" else None,
            "images": [],
        }
        images: dict[str, bytes] = {}
        if job.status == JobStatus.COMPLETED:
            outcome["images"], images = await self._images(bid, entry, settings.delivery)
            if settings.delivery is None:  # sent back: nothing of it stays here
                await asyncio.to_thread(shutil.rmtree, out_dir, True)
        return outcome, images

    async def _images(
        self, bid: int, entry: Entry, delivery: Delivery | None
    ) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
        """The outcome's image entries of one-job batch ``bid`` and the bytes that go with
        them: every image's when nothing delivers them, else those this worker shares."""
        entries: list[dict[str, Any]] = []
        data: dict[str, bytes] = {}
        for img in self.store.images(bid):
            key = image_key(entry.batch, entry.job, img.sample_index)
            reused = img.reused_from is not None
            # A made image stays for the team's reuse a while; a copy's original already does.
            keep = self.shared.share_s if img.content_key and not reused else 0
            entries.append(
                {
                    "sample": img.sample_index,
                    "key": key,
                    "seed": img.seed,
                    "model": img.model,
                    "content_key": img.content_key,
                    "reused": reused,
                    "keep_s": keep,
                }
            )
            if delivery is None or keep:
                data[key] = await asyncio.to_thread(img.path.read_bytes)
        return entries, data

    async def _record(
        self, entry: Entry, outcome: dict[str, Any], images: dict[str, bytes]
    ) -> None:
        delivered = bool(outcome.get("delivered"))
        # A delivered batch's images travel only to be shared (written by ``publish``).
        if await self.q.complete(entry, outcome, {} if delivered else images):
            shared = [i for i in outcome.get("images", []) if i.get("keep_s")]
            await self.shared.publish(shared, images if delivered else {})
            self.stats.completed += 1
            kind = str(outcome["kind"])
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        else:
            self.stats.duplicates += 1
