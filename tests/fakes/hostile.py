"""A hostile provider in-process: a real ``Provider`` subclass (qutebrowser's rule: fakes
subclass the real base class) whose answers are chosen per prompt, including exceptions of any
type from deep inside an adapter, as a bug or a surprise of a provider's SDK would raise them.

``HostileProvider.behaviours`` maps a prompt to what its request does: an exception instance
to raise, or ``None`` for a good image (draft's renderer).
"""

from __future__ import annotations

from typing import ClassVar

from app.providers.base import (
    Capabilities,
    GenerationRequest,
    GenerationResult,
    Provider,
)
from app.providers.draft import CAPABILITIES as DRAFT_CAPABILITIES
from app.providers.draft import render_draft

HOSTILE_CAPABILITIES = Capabilities(
    name="draft",  # priced and checked as draft: $0, no key, any size draft takes
    label="Hostile",
    models=DRAFT_CAPABILITIES.models,
    needs_key=False,
    key_env_var=None,
    base_url_env_var=None,
    default_base_url="offline",
    default_concurrency=4,
)


class HostileProvider(Provider):
    """Raises what ``behaviours`` says for a prompt; counts the calls per prompt."""

    capabilities: ClassVar[Capabilities] = HOSTILE_CAPABILITIES
    behaviours: ClassVar[dict[str, BaseException | None]] = {}

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        super().__init__(api_key, base_url)
        self.calls: dict[str, int] = {}

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls[request.prompt] = self.calls.get(request.prompt, 0) + 1
        failure = self.behaviours.get(request.prompt)
        if failure is not None:
            raise failure
        return GenerationResult(
            [render_draft(request, request.first_sample + i) for i in range(request.n)]
        )
