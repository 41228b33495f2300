"""The team queue's data in Redis and the operations on it.

Keys (``atelier:`` prefix; ``T`` is a team batch id, a UUID hex made at submission):

- ``batches``: sorted set of ``T`` by submission time (s since the epoch).
- ``batch:T``: hash ``name, provider, model, settings`` (``RunSettings`` JSON without the
  endpoint: each worker uses its own), ``total, submitter, submitted, state, reason``, and
  ``n_<kind>`` (outcomes counted by kind: ``n_completed``, ``n_failed`` …).
- ``jobs:<provider>``: a stream per provider, read by the workers serving it in the consumer
  group ``workers``; an entry is ``batch=T, job=<the submitter's job id>, spec=<JobSpec
  JSON>``.
- ``done:T``: hash job id → outcome JSON, written once (``HSETNX``): a job is completed once
  however many workers made it.
- ``events:T``: stream of outcomes for the submitter and every window (``kind`` =
  ``succeeded | failed | cancelled | halted | state``).
- ``img:T:J:S``: the bytes of sample ``S`` of job ``J`` on their way back to the submitter
  (expire after ``IMAGE_TTL_S``), when the batch has no delivery target; once written there
  they stay for the team's reuse window (``atelier.team.shared_images``), else are deleted.
- ``parked:T``: list of jobs set aside while ``T`` is paused or halted (put back on resume).
- ``made:<image key>``: the team's reuse index (``atelier.team.shared_images``).
- ``refs:T``, ``ref:<sha256>``: the reference images of ``T``'s jobs (``atelier.team.references``).
- ``dead``: stream of the entries of the job streams that cannot be read (a malformed or
  hostile entry, a job of a batch the queue no longer has), each set aside once with its
  ``reason``, the ``stream`` and ``entry`` it came from, its ``batch`` and ``job`` when they
  could be read and its raw ``fields`` (JSON, each cut to ``DEAD_FIELD_CHARS``); the batch's
  record counts them (``n_dead``).
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from atelier.core.i18n import N_, tr
from atelier.core.models import JobSpec, RunSettings
from atelier.providers.registry import resolve_target
from atelier.team import references
from atelier.team.connection import QueueError as QueueError
from atelier.team.connection import connect, safe_url
from atelier.team.dead_letter import DEAD as DEAD
from atelier.team.dead_letter import DeadLetters
from atelier.team.entries import Entry as Entry
from atelier.team.entries import Malformed as Malformed
from atelier.team.entries import field_of, read_event
from atelier.team.keys import GROUP as GROUP
from atelier.team.keys import PREFIX as PREFIX
from atelier.team.keys import stream_of as stream_of

log = logging.getLogger(__name__)

IMAGE_TTL_S = 7 * 24 * 3600
"""How long images wait in Redis for their submitter (s): a week covers a laptop left shut."""

BatchState = Literal["queued", "paused", "cancelled", "halted"]
STATE_LABELS = {
    "queued": N_("Queued"),
    "paused": N_("Paused"),
    "cancelled": N_("Cancelled"),
    "halted": N_("Halted"),
}
"""A team batch's state in words (shown through ``tr``)."""

# Completing a job once: the outcome is written only if none is, and then (in the same atomic
# step) its images are stored, its event published and its entry acknowledged. A second worker
# that made the same job (a take-over after a visibility timeout) only acknowledges.
# The batch record counts outcomes by kind (``n_failed`` …) in the same step, so a list of the
# team's batches says how many failed without reading every outcome.
# A batch whose record is gone (Redis restarted without persistence, the key evicted) gets
# nothing written: an outcome there would make a record with counts and no batch, which no
# one can read; the submitter finds the batch missing and queues its jobs again.
# KEYS: done hash, events stream, jobs stream, batch hash; ARGV: job id, outcome JSON, group,
# entry id, image TTL (s), outcome kind, then pairs of (image key, bytes).
# Returns 1 (recorded), 0 (recorded before), -1 (no such batch).
_COMPLETE = """
if redis.call('HEXISTS', KEYS[4], 'total') == 0 then return -1 end
local first = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if first == 1 then
  redis.call('HINCRBY', KEYS[4], 'n_' .. ARGV[6], 1)
  for i = 7, #ARGV, 2 do
    redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', tonumber(ARGV[5]))
  end
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[1], 'outcome', ARGV[2])
end
redis.call('XACK', KEYS[3], ARGV[3], ARGV[4])
return first
"""

# Setting a job aside (its batch paused or halted): onto the parked list and off the stream, in
# one step, so a crash between the two loses nothing. KEYS: parked list, jobs stream;
# ARGV: entry JSON, group, entry id.
_PARK = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('XACK', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# Forgetting failed outcomes for a retry: only outcomes still failed are removed (a teammate's
# retry at the same moment may have removed one, and a worker completed it since), and the
# batch's failed count goes down by what was removed, in one step. KEYS: done hash, batch hash;
# ARGV: job ids. Returns the ids removed.
_FORGET = """
local removed = {}
for i = 1, #ARGV do
  local o = redis.call('HGET', KEYS[1], ARGV[i])
  if o and cjson.decode(o)['kind'] == 'failed' then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed[#removed + 1] = ARGV[i]
  end
end
if #removed > 0 then redis.call('HINCRBY', KEYS[2], 'n_failed', -#removed) end
return removed
"""


@dataclass(frozen=True)
class TeamBatch:
    """A batch as the team sees it (``batch:T``), with ``done`` outcomes counted."""

    id: str
    name: str
    provider: str
    model: str
    total: int
    submitter: str
    submitted: float
    state: str
    reason: str
    done: int
    settings: RunSettings
    failed: int = 0
    """Jobs whose outcome is a failure (a retry takes them off)."""
    dead: int = 0
    """Entries of this batch set aside unread (malformed) on the dead-letter stream."""


def _queued_settings(settings: RunSettings) -> str:
    # The endpoint is the submitter's; each worker serves the batch with its own (its GPU, its
    # proxy), like its own key.
    return settings.model_copy(update={"base_url": None}).model_dump_json()


class TeamQueue:
    """The team queue at one Redis address.

    Args:
        client: from ``connect``.
        url: the address, for messages (its password is never shown).
    """

    def __init__(self, client: aioredis.Redis, url: str = "", raw_url: str | None = None) -> None:
        # redis-py's annotations are unions of every reply shape (bytes | str | list …) the
        # decoding options allow; replies are read as bytes here, so the client is ``Any``.
        self.r: Any = client
        self.url = safe_url(url)
        self._raw_url = raw_url
        self._complete = client.register_script(_COMPLETE)
        self._park = client.register_script(_PARK)
        self._forget = client.register_script(_FORGET)
        self._dead_letters = DeadLetters(client)

    @classmethod
    def open(cls, url: str) -> TeamQueue:
        """``TeamQueue(connect(url), url)``."""
        return cls(connect(url), url, url)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.r.aclose()

    async def ping(self) -> None:
        """Check the server answers and lets us in.

        Raises:
            QueueError: unreachable, wrong password, or no permission.
        """
        # A first contact fails fast (a typo in the address should not cost a minute); the
        # long retries are for a server restarting under a running batch.
        probe = connect(self._raw_url, retries=2) if self._raw_url else self.r
        try:
            await probe.ping()
        except Exception as e:  # redis-py's errors name the cause; the address is ours to add
            raise QueueError(
                tr("The team queue at {url} cannot be used: {reason}").format(
                    url=self.url, reason=e
                )
            ) from e
        finally:
            if probe is not self.r:
                await probe.aclose()

    async def ensure_group(self, provider: str) -> None:
        """Create ``provider``'s stream and its ``workers`` group if they are not there."""
        try:
            await self.r.xgroup_create(stream_of(provider), GROUP, id="0", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    # ---- submitting ------------------------------------------------------------------------
    async def submit(
        self, name: str, settings: RunSettings, jobs: Iterable[tuple[int, JobSpec]]
    ) -> str:
        """Put a batch on the queue: its record, its jobs' reference files
        (``atelier.team.references``), then every ``(job id, spec)`` on the stream. Returns the
        team batch id."""
        tid = uuid.uuid4().hex
        items = list(jobs)
        now = time.time()
        await self.r.hset(
            PREFIX + f"batch:{tid}",
            mapping={
                "name": name,
                "provider": settings.provider,
                "model": settings.model,
                "settings": _queued_settings(settings),
                "total": len(items),
                "submitter": socket.gethostname(),
                "submitted": now,
                "state": "queued",
                "reason": "",
            },
        )
        # Before any job is on a stream: a worker may take the first one at once.
        await references.upload(self.r, tid, (spec for _, spec in items), settings)
        await self.r.zadd(PREFIX + "batches", {tid: now})
        await self.add_jobs(tid, items, settings)
        return tid

    async def add_jobs(
        self, tid: str, jobs: Iterable[tuple[int, JobSpec]], settings: RunSettings | None = None
    ) -> None:
        """Put jobs of batch ``tid`` on their providers' streams (a retry puts failed ones
        back); ``settings``: the batch's (read from its record when not given)."""
        s = settings or (await self.batch(tid)).settings
        items = list(jobs)
        for provider in {self.provider_of(s, spec) for _, spec in items}:
            await self.ensure_group(provider)
        for start in range(0, len(items), 500):
            async with self.r.pipeline(transaction=False) as p:
                for job, spec in items[start : start + 500]:
                    p.xadd(
                        stream_of(self.provider_of(s, spec)),
                        {"batch": tid, "job": job, "spec": spec.model_dump_json()},
                    )
                await p.execute()

    @staticmethod
    def provider_of(settings: RunSettings, spec: JobSpec) -> str:
        """The provider that makes ``spec`` (its own, else the batch's)."""
        return resolve_target(settings.provider, settings.model, spec.provider, spec.model)[0]

    # ---- working ---------------------------------------------------------------------------
    async def claim(
        self, consumer: str, providers: list[str], count: int, block_ms: int
    ) -> list[Entry]:
        """Up to ``count`` new entries of ``providers``' streams for ``consumer`` (waiting up
        to ``block_ms``)."""
        streams = {stream_of(p): ">" for p in providers}
        got = await self.r.xreadgroup(GROUP, consumer, streams, count=count, block=block_ms)
        out: list[Entry] = []
        for key, entries in got or []:
            out += await self._dead_letters.readable(key.decode(), entries)
        return out

    async def take_over(
        self, consumer: str, providers: list[str], idle_ms: int, count: int
    ) -> list[Entry]:
        """Entries other consumers took more than ``idle_ms`` ago and never acknowledged (a
        dead or stuck worker's), now ``consumer``'s (``XAUTOCLAIM``, Redis ≥ 6.2). Like
        ``claim``, what cannot be read is set aside, not returned; so is an entry delivered
        more than ``MAX_DELIVERIES`` times (every worker that took it died or failed on it)."""
        out: list[Entry] = []
        for p in providers:
            if len(out) >= count:
                break
            _, entries, *_ = await self.r.xautoclaim(
                stream_of(p), GROUP, consumer, idle_ms, start_id="0-0", count=count - len(out)
            )
            dl = self._dead_letters
            out += await dl.not_poison(consumer, await dl.readable(stream_of(p), entries))
        return out

    async def dead_letter(self, m: Malformed) -> bool:
        """Acknowledge entry ``m`` and put it on the dead-letter stream (``DEAD``) with its
        reason, counted on its batch's record (``n_dead``) when it names one. Returns whether
        this call set it aside (``False``: another worker did first)."""
        return await self._dead_letters.put(m)

    async def dead_letters(self, count: int = 100) -> list[dict[str, str]]:
        """The newest ``count`` entries of the dead-letter stream, newest first (their fields
        as text: ``stream, entry, batch, job, reason, fields``)."""
        return await self._dead_letters.newest(count)

    async def keep(self, consumer: str, entries: list[Entry]) -> None:
        """Tell the group these entries are still being worked on (their idle time restarts),
        so a long job is not taken over."""
        for e in entries:
            await self.r.xclaim(e.stream, GROUP, consumer, 0, [e.entry_id], justid=True)

    async def complete(
        self, entry: Entry, outcome: dict[str, Any], images: dict[str, bytes]
    ) -> bool:
        """Record ``entry``'s outcome once and acknowledge it; ``images`` (key → bytes) are
        stored with it. Returns whether this call recorded it (``False``: another worker had
        completed the job already, or the queue no longer has the batch; nothing of this call
        was kept)."""
        args: list[Any] = [
            entry.job,
            json.dumps(outcome),
            GROUP,
            entry.entry_id,
            IMAGE_TTL_S,
            str(outcome.get("kind", "")),
        ]
        for key, data in images.items():
            args += [key, data]
        keys = [
            PREFIX + f"done:{entry.batch}",
            PREFIX + f"events:{entry.batch}",
            entry.stream,
            PREFIX + f"batch:{entry.batch}",
        ]
        got = int(await self._complete(keys=keys, args=args))
        if got < 0:
            log.warning(
                "team queue: batch %s is gone; job %s's outcome dropped", entry.batch, entry.job
            )
        return got > 0

    async def started(self, entry: Entry, worker: str) -> None:
        """Tell the batch's followers that ``worker`` started ``entry``'s job."""
        await self.r.xadd(
            PREFIX + f"events:{entry.batch}",
            {"job": entry.job, "outcome": json.dumps({"kind": "started", "worker": worker})},
        )

    async def is_done(self, tid: str, job: int) -> bool:
        """Whether job ``job`` of ``tid`` has an outcome."""
        return bool(await self.r.hexists(PREFIX + f"done:{tid}", str(job)))

    async def acknowledge(self, entry: Entry) -> None:
        """Drop ``entry`` from the group's pending list (its job already has an outcome)."""
        await self.r.xack(entry.stream, GROUP, entry.entry_id)

    async def park(self, entry: Entry) -> None:
        """Set ``entry`` aside until its batch is resumed."""
        data = json.dumps({"job": entry.job, "spec": entry.spec.model_dump_json()})
        await self._park(
            keys=[PREFIX + f"parked:{entry.batch}", entry.stream],
            args=[data, GROUP, entry.entry_id],
        )

    # ---- batches ---------------------------------------------------------------------------
    async def batch(self, tid: str) -> TeamBatch:
        """The team's record of ``tid``.

        Raises:
            QueueError: no such batch on this queue.
        """
        h = await self.r.hgetall(PREFIX + f"batch:{tid}")
        if not h:
            raise QueueError(
                tr("No batch {batch} on the team queue at {url}.").format(batch=tid, url=self.url)
            )
        d = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in h.items()}
        done = await self.r.hlen(PREFIX + f"done:{tid}")
        try:
            return TeamBatch(
                tid,
                d["name"],
                d["provider"],
                d["model"],
                int(d["total"]),
                d["submitter"],
                float(d["submitted"]),
                d["state"],
                d.get("reason", ""),
                int(done),
                RunSettings.model_validate_json(d["settings"]),
                max(0, int(d.get("n_failed", 0))),
                max(0, int(d.get("n_dead", 0))),
            )
        except (KeyError, ValueError) as e:  # ValidationError is a ValueError
            raise QueueError(
                tr(
                    "The record of batch {batch} on the team queue at {url} cannot be read ({field})."
                ).format(batch=tid, url=self.url, field=field_of(e))
            ) from e

    async def batches(self, limit: int = 200) -> list[TeamBatch]:
        """The team's batches, newest first."""
        ids = await self.r.zrevrange(PREFIX + "batches", 0, limit - 1)
        out = []
        for i in ids:
            try:
                out.append(await self.batch(i.decode("utf-8", "replace")))
            except QueueError as e:  # one unreadable record does not hide the team's others
                log.warning("team queue: %s", e)
        return out

    async def exists(self, tid: str) -> bool:
        """Whether the queue still has team batch ``tid``'s record (``False`` after Redis
        restarted without persistence, or the key was evicted)."""
        return bool(await self.r.hexists(PREFIX + f"batch:{tid}", "total"))

    async def state(self, tid: str) -> tuple[str, str]:
        """``(state, reason)`` of ``tid`` (``("", "")`` when unknown)."""
        got = await self.r.hmget(PREFIX + f"batch:{tid}", ["state", "reason"])
        return (got[0] or b"").decode(), (got[1] or b"").decode()

    async def set_state(self, tid: str, state: BatchState, reason: str = "") -> None:
        """Set ``tid``'s state; resuming (``queued``) puts its parked jobs back on the stream.
        Every window hears of it on the batch's event stream."""
        await self.r.hset(PREFIX + f"batch:{tid}", mapping={"state": state, "reason": reason})
        await self.r.xadd(
            PREFIX + f"events:{tid}",
            {"job": "", "outcome": json.dumps({"kind": "state", "state": state, "reason": reason})},
        )
        if state == "queued":
            settings = (await self.batch(tid)).settings  # once, not per parked job
            # One at a time: a crash between the pop and the add loses one job at most.
            while raw := await self.r.lpop(PREFIX + f"parked:{tid}"):
                item = json.loads(raw)
                spec = JobSpec.model_validate_json(item["spec"])
                await self.add_jobs(tid, [(int(item["job"]), spec)], settings)

    async def set_budget(self, tid: str, cap_usd: float | None) -> None:
        """Set ``tid``'s budget cap (USD; ``None``: none). Workers read it again when the old
        cap stops a job, so a raised cap and a resume carry on where it halted."""
        settings = (await self.batch(tid)).settings.model_copy(update={"budget_usd": cap_usd})
        await self.r.hset(PREFIX + f"batch:{tid}", "settings", _queued_settings(settings))

    async def halt(self, tid: str, reason: str) -> None:
        """Stop starting jobs of ``tid`` (its budget cap was reached); resumable."""
        await self.set_state(tid, "halted", reason)

    async def events(
        self, tid: str, after: str = "0-0", block_ms: int = 1000, count: int = 500
    ) -> list[tuple[str, dict[str, Any] | str]]:
        """Events of ``tid`` after the id ``after``: ``[(id, outcome with "job")]``; an event
        that cannot be read comes as ``(id, reason)`` (a sentence), for the caller to skip."""
        got = await self.r.xread({PREFIX + f"events:{tid}": after}, count=count, block=block_ms)
        out: list[tuple[str, dict[str, Any] | str]] = []
        for _, entries in got or []:
            for eid, fields in entries:
                out.append((eid.decode(), read_event(fields or {})))
        return out

    async def image(self, key: str) -> bytes | None:
        """The bytes stored under ``key`` (``None`` once expired)."""
        data = await self.r.get(key)
        return bytes(data) if data is not None else None

    async def forget_image(self, key: str, keep_s: int = 0) -> None:
        """Drop an image the submitter has written, or, when the team may reuse it
        (``keep_s`` > 0, ``atelier.team.shared_images``), let it expire ``keep_s`` s from now."""
        if keep_s > 0:
            await self.r.expire(key, keep_s)
        else:
            await self.r.delete(key)

    async def outcomes(self, tid: str) -> dict[int, dict[str, Any]]:
        """Every recorded outcome of ``tid`` by job id."""
        h = await self.r.hgetall(PREFIX + f"done:{tid}")
        return {int(k): json.loads(v) for k, v in h.items()}

    async def forget_outcomes(self, tid: str, jobs: list[int]) -> list[int]:
        """Drop the outcomes of ``jobs`` that are still failures (they are retried); returns
        the jobs whose outcome this call dropped, the ones to put back on the queue."""
        if not jobs:
            return []
        keys = [PREFIX + f"done:{tid}", PREFIX + f"batch:{tid}"]
        removed = await self._forget(keys=keys, args=[str(j) for j in jobs])
        return [int(j) for j in removed]

    async def failures(self, tid: str, limit: int = 50) -> list[tuple[int, str]]:
        """``(job id, error)`` of ``tid``'s failed jobs, first ``limit`` by job id."""
        out = [
            (j, str(o.get("error") or ""))
            for j, o in (await self.outcomes(tid)).items()
            if o.get("kind") == "failed"
        ]
        return sorted(out)[:limit]


def image_key(tid: str, job: int, sample: int) -> str:
    """Where sample ``sample`` of job ``job`` waits for its submitter."""
    return PREFIX + f"img:{tid}:{job}:{sample}"
