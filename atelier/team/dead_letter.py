"""The team queue's dead letters: an entry of a job stream no worker can make (it cannot be
read as a job, its batch is gone, or it was taken more than ``MAX_DELIVERIES`` times) is
acknowledged and copied, once, to the ``DEAD`` stream with its reason, so it neither stops
the jobs read with it nor comes back after every visibility timeout."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis.asyncio as aioredis

from atelier.core.i18n import tr
from atelier.team.entries import Entry, Malformed, read_entries, text_id
from atelier.team.keys import GROUP, PREFIX

log = logging.getLogger("atelier.team.queue")  # the queue's own logger, as before the split

DEAD = PREFIX + "dead"
"""The dead-letter stream: entries no worker can make, with their reason."""
DEAD_MAX = 10_000
"""About how many dead-letter entries are kept (the oldest go first)."""
MAX_DELIVERIES = 5
"""An entry taken more often than this (its first read, then take-overs) is set aside."""

# Setting aside an entry no worker can make: acknowledged (so it is never delivered again) and
# copied to the dead-letter stream with its reason, counted on its batch's record if it has
# one, in one step. Only the call whose XACK took it off the pending list writes, so two workers
# that both read it (a take-over) set it aside once. KEYS: jobs stream, dead stream, batch
# hash (any key when the batch is unknown); ARGV: group, entry id, reason, batch, job,
# fields JSON, dead stream's length. Returns 1 (set aside here) or 0 (already).
_DEAD = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'stream', KEYS[1], 'entry', ARGV[2],
  'batch', ARGV[4], 'job', ARGV[5], 'reason', ARGV[3], 'fields', ARGV[6])
if ARGV[4] ~= '' and redis.call('HEXISTS', KEYS[3], 'total') == 1 then
  redis.call('HINCRBY', KEYS[3], 'n_dead', 1)
end
return 1
"""


class DeadLetters:
    """The dead-letter stream of one team queue (``TeamQueue`` delegates to it).

    Args:
        client: the queue's Redis client (replies read as bytes).
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self.r: Any = client
        self._script = client.register_script(_DEAD)

    async def not_poison(self, consumer: str, entries: list[Entry]) -> list[Entry]:
        """``entries`` (just taken over by ``consumer``, of one stream, in id order) without
        those delivered more than ``MAX_DELIVERIES`` times, which are set aside: a job that
        stops every worker taking it would otherwise come back after every visibility
        timeout, for ever. (Renewing a job, ``keep``, does not count as a delivery.)"""
        if not entries:
            return entries
        pending = await self.r.xpending_range(
            entries[0].stream,
            GROUP,
            min=entries[0].entry_id,
            max=entries[-1].entry_id,
            count=len(entries),
            consumername=consumer,
        )
        times = {text_id(p["message_id"]): int(p["times_delivered"]) for p in pending}
        out = []
        for e in entries:
            n = times.get(e.entry_id, 0)
            if n <= MAX_DELIVERIES:
                out.append(e)
                continue
            reason = tr(
                "The job was taken {count} times and never finished; the workers' logs say why."
            ).format(count=n)
            await self.put(Malformed.of(e, reason))
        return out

    async def readable(self, stream: str, entries: Any) -> list[Entry]:
        """The jobs of ``entries`` (as XREADGROUP / XAUTOCLAIM give them); each one that cannot
        be read is set aside on the dead-letter stream with its reason, so it neither stops
        the jobs read with it nor comes back after every visibility timeout."""
        good, bad = read_entries(stream, entries)
        for m in bad:
            await self.put(m)
        return good

    async def put(self, m: Malformed) -> bool:
        """Acknowledge entry ``m`` and put it on the dead-letter stream (``DEAD``) with its
        reason, counted on its batch's record (``n_dead``) when it names one. Returns whether
        this call set it aside (``False``: another worker did first)."""
        fields = json.dumps(m.fields or {}, ensure_ascii=False)
        batch_key = PREFIX + f"batch:{m.batch}" if m.batch else DEAD
        got = await self._script(
            keys=[m.stream, DEAD, batch_key],
            args=[GROUP, m.entry_id, m.reason, m.batch, m.job, fields, DEAD_MAX],
        )
        if got:
            log.warning("team queue: entry %s of %s set aside: %s", m.entry_id, m.stream, m.reason)
        return bool(got)

    async def newest(self, count: int = 100) -> list[dict[str, str]]:
        """The newest ``count`` entries of the dead-letter stream, newest first (their fields
        as text: ``stream, entry, batch, job, reason, fields``)."""
        got = await self.r.xrevrange(DEAD, count=count)
        return [
            {k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}
            for _, fields in got
        ]
