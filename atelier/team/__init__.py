"""A team's shared queue on Redis (issue 16): batches submitted from any machine, worked by
``atelier worker`` processes anywhere, under one rate limit and one budget.

Built on Redis's own primitives through redis-py (``redis.asyncio``) rather than a job library
(arq, RQ, Celery): Streams with a consumer group are exactly the at-least-once queue with
take-over of a dead consumer's entries (``XAUTOCLAIM``) the issue asks for, and the shared
limits are Lua scripts that no job library provides. Facts: ``../shared/docs/integrations.md``
("Redis as a shared queue"), redis.io's XREADGROUP / XAUTOCLAIM / EVALSHA pages.

- ``queue``: the keys, submitting, claiming, completing once, batch states and events.
- ``limits``: the shared rate limit (GCRA), 429 holds and budget ledger.
- ``worker``: ``atelier worker``.
- ``follow``: the submitting machine records what the workers made.
"""
