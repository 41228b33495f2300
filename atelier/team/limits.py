"""Limits every worker shares through Redis: a provider key's rate limit, its 429 holds, and a
batch's budget cap. Each is one Lua script, so a check and its booking are one atomic step
whatever the number of workers (``../shared/docs/integrations.md``: "Atomic limiters and
ledgers").

Keys (``atelier:`` prefix): ``gcra:<provider>:<key id>:<requests|images>`` (the theoretical
arrival time, ms), ``learned:<provider>:<key id>`` (hash ``requests, images``: the per-minute
limits the provider's ``x-ratelimit-limit-*`` headers gave, for ``LEARNED_TTL_S``),
``hold:<provider>:<key id>`` (a 429 hold, expiring when it ends),
``budget:<T>`` (hash ``spent, reserved`` in USD). ``<key id>`` is the first 12 hex digits of
the key's SHA-256, so workers on one key share one limit and the key itself never reaches
Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from typing import Any

from atelier.team.queue import PREFIX

# GCRA (generic cell rate algorithm): one key per limit holding the theoretical arrival time
# (TAT). A request of n units is allowed when now >= TAT - tolerance; it moves TAT by n × the
# emission interval. Redis's clock (TIME) is the one clock all workers share.
# One script asks the 429 hold and both limits (requests, images) and books both or neither,
# so a request is one round trip and a request waiting on one limit holds no turn of the other.
# Each interval is the stricter of the one configured and the one any worker learned from the
# provider's x-ratelimit-limit-* headers (read here, so a limit one worker learns paces every
# worker from its next request on).
# KEYS: requests tat, images tat, learned hash, hold key; ARGV: configured requests interval,
# images interval (ms per unit, safety included, 0: none), tolerance (ms), images, safety.
# Returns "0" (go, booked) or the ms to wait before asking again.
_GCRA = """
local hold = redis.call('PTTL', KEYS[4])
if hold > 0 then return tostring(hold) end
local tolerance, safety = tonumber(ARGV[3]), tonumber(ARGV[5])
local units = {1, tonumber(ARGV[4])}
local fields = {'requests', 'images'}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait, booked = 0, {}
for i = 1, 2 do
  local interval = tonumber(ARGV[i])
  local learned = tonumber(redis.call('HGET', KEYS[3], fields[i]) or '0')
  if learned > 0 and 60000 / learned * safety > interval then
    interval = 60000 / learned * safety
  end
  if interval > 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or now)
    if tat < now then tat = now end
    if now < tat - tolerance then
      wait = math.max(wait, tat - tolerance - now)
    else
      booked[i] = tat + interval * units[i]
    end
  end
end
if wait > 0 then return tostring(wait) end
for i, new_tat in pairs(booked) do
  redis.call('SET', KEYS[i], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1000)
end
return '0'
"""

# A 429 hold: kept if longer than the one in force. KEYS: hold key; ARGV: ms.
_HOLD = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
"""

# Booking a worst case against the cap. KEYS: budget hash; ARGV: cap, amount (USD).
# Returns 1 when booked, 0 when spent + booked + amount would pass the cap.
_RESERVE = """
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if spent + reserved + tonumber(ARGV[2]) > tonumber(ARGV[1]) + 1e-9 then return 0 end
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', ARGV[2])
return 1
"""

# Settling a booking: the booked amount released, what was really spent added.
# KEYS: budget hash; ARGV: booked, spent (USD).
_SETTLE = """
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(ARGV[1]))
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[2])
return 1
"""

LEARNED_TTL_S = 3600
"""How long a learned limit is trusted without a response repeating it (s): a key's tier can
change."""

SAFETY = 1.02
"""Emission intervals are stretched by 2 %: requests leave evenly but arrive with network
jitter, and a provider counting a sliding window must never see one too many."""


def key_id(api_key: str | None) -> str:
    """The name a key's limits go by in Redis (never the key): 12 hex digits of its SHA-256,
    ``"nokey"`` for none."""
    if not api_key:
        return "nokey"
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


class SharedLimit:
    """One provider key's pacing and 429 holds, shared by every worker (it plugs into a
    ``Lane``: see ``atelier.engine.lane.SharedPacing``).

    Args:
        client: a redis.asyncio client.
        provider, api_key: whose limit (the key only hashed, ``key_id``).
        rpm, ipm: requests and images per minute allowed (``None``: not paced by that).
        window: a published limit as ``(count, seconds)`` (Stability's 150 per 10 s), paced
            evenly as count per window.
    """

    def __init__(
        self,
        client: Any,
        provider: str,
        api_key: str | None,
        rpm: float | None = None,
        ipm: float | None = None,
        window: tuple[int, float] | None = None,
    ) -> None:
        self.r = client
        ident = f"{provider}:{key_id(api_key)}"
        self._hold_key = PREFIX + f"hold:{ident}"
        self._learned_key = PREFIX + f"learned:{ident}"
        self._told: dict[str, float] = {}
        self._told_at = 0.0
        self._gcra = client.register_script(_GCRA)
        self._hold = client.register_script(_HOLD)
        self._tasks: set[asyncio.Task[Any]] = set()
        per_request = [60_000 / rpm] if rpm else []
        if window:
            per_request.append(window[1] * 1000 / window[0])
        self._keys = [
            PREFIX + f"gcra:{ident}:requests",
            PREFIX + f"gcra:{ident}:images",
            self._learned_key,
            self._hold_key,
        ]
        # Both limits are always asked: a limit some worker learns applies even where none
        # is set (0: none configured).
        self._intervals_ms = (
            max(per_request, default=0.0) * SAFETY,
            (60_000 / ipm if ipm else 0.0) * SAFETY,
        )

    async def acquire(self, images: int) -> None:
        """Return when this request of ``images`` images may go: no 429 hold in force and
        both limits' turns reached, then booked (waiting as long as needed)."""
        while True:
            wait_ms = float(
                await self._gcra(keys=self._keys, args=[*self._intervals_ms, 0, images, SAFETY])
            )
            if wait_ms <= 0:
                return
            # Asking again, not an Event: holds and turns are set by other processes.
            await asyncio.sleep(wait_ms / 1000)

    def learn(self, rpm: float | None, ipm: float | None) -> None:
        """Share the limits a response's ``x-ratelimit-limit-*`` headers gave (per minute;
        ``None``: not in them) with every worker on the key; written when they change, and
        again before they would expire."""
        now = asyncio.get_running_loop().time()
        told = {k: v for k, v in (("requests", rpm), ("images", ipm)) if v}
        if not told or (told == self._told and now - self._told_at < LEARNED_TTL_S / 2):
            return
        self._told, self._told_at = told, now

        async def write() -> None:
            async with self.r.pipeline(transaction=True) as p:
                p.hset(self._learned_key, mapping=told)
                p.expire(self._learned_key, LEARNED_TTL_S)
                await p.execute()

        self._background(write())

    def hold(self, seconds: float) -> None:
        """Every worker on this key waits ``seconds`` (a 429's Retry-After). Sent in the
        background: the lane that met the 429 waits on its own clock anyway."""
        self._background(self._hold(keys=[self._hold_key], args=[max(1, int(seconds * 1000))]))

    def _background(self, aw: Awaitable[Any]) -> None:
        async def run() -> None:
            await aw

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class SharedBudget:
    """A team batch's budget cap, booked by every worker (hash ``budget:<T>``)."""

    def __init__(self, client: Any, tid: str) -> None:
        self.r = client
        self.key = PREFIX + f"budget:{tid}"
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)

    async def reserve(self, cap_usd: float, amount_usd: float) -> bool:
        """Book ``amount_usd`` if spend + bookings + it stay within ``cap_usd``."""
        return bool(await self._reserve(keys=[self.key], args=[cap_usd, amount_usd]))

    async def settle(self, booked_usd: float, spent_usd: float) -> None:
        """Release a booking and add what was really spent."""
        await self._settle(keys=[self.key], args=[booked_usd, spent_usd])

    async def spent(self) -> float:
        """USD spent so far by every worker."""
        return float(await self.r.hget(self.key, "spent") or 0)
