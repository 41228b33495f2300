"""Image providers behind one interface (``base.Provider``), plus the registry."""

from atelier.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Provider,
)
from atelier.providers.registry import PROVIDERS, capabilities_of, create_provider

__all__ = [
    "PROVIDERS",
    "Capabilities",
    "GeneratedImage",
    "GenerationRequest",
    "GenerationResult",
    "ModelInfo",
    "Provider",
    "capabilities_of",
    "create_provider",
]
