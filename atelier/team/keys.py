"""The team queue's names in Redis: every key starts with ``PREFIX``, each provider's jobs
are on their own stream (``stream_of``), read by the consumer group ``GROUP`` (the keys are
listed in ``atelier.team.queue``'s docstring)."""

from __future__ import annotations

PREFIX = "atelier:"
GROUP = "workers"


def stream_of(provider: str) -> str:
    """The stream of ``provider``'s jobs."""
    return PREFIX + f"jobs:{provider}"
