"""The provider interface: a frozen capabilities record and one async ``generate`` call.

A provider turns one ``GenerationRequest`` (one prompt, ``n`` images) into a
``GenerationResult`` or raises ``atelier.core.errors.ProviderError`` already classified. It does no
retrying, no rate limiting and no file writing: the engine owns those.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from atelier.core.errors import ErrorClass, ProviderError, describe_exception
from atelier.core.i18n import N_, tr
from atelier.core.models import JobSpec, parse_size
from atelier.core.spec_fields import REQUEST


def today() -> dt.date:
    """Today's date, as the models' lifecycle checks see it (tests replace this function)."""
    return dt.date.today()


@dataclass(frozen=True)
class ModelInfo:
    """What one model accepts.

    Attributes:
        id: the wire name (``gpt-image-1.5``).
        label: shown in the window.
        sizes: the fixed ``WxH`` sizes offered (``auto`` included where the API accepts it).
        custom_size_multiple: when set, any ``WxH`` with both sides divisible by it works…
        max_width, max_height: …up to these bounds (pixels).
        max_pixels: …and at most this many pixels (``None``: no limit beyond the sides).
        max_aspect: …with the longer side at most this many times the shorter (``None``: any).
        qualities: accepted ``quality`` values.
        formats: accepted output formats (others are converted locally with Pillow).
        transparent_background: whether a transparent background can be asked for.
        max_samples_per_request: the largest ``n`` of one request.
        note: a remark shown next to the model (the lifecycle's is ``lifecycle_note``).
        released, deprecated, shutdown: the provider's dates (``None``: not known or none);
            past ``shutdown`` the model is not offered and a batch naming it is refused.
        successor: the model to use instead (required with ``shutdown``).
        max_references: the most reference images one request takes (``None``: not known).
        complexities: the ``complexity`` values the model takes (empty: it takes none, so a
            job naming one is refused at the door; OpenAI gpt-image-2.6).
    """

    id: str
    label: str
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    formats: tuple[str, ...] = ("png", "jpeg", "webp")
    transparent_background: bool = True
    max_samples_per_request: int = 10
    custom_size_multiple: int | None = None
    max_width: int = 4096
    max_height: int = 4096
    note: str = ""
    edits: bool = False
    masks: bool = False
    generates: bool = True
    min_side: int = 64
    released: dt.date | None = None
    deprecated: dt.date | None = None
    shutdown: dt.date | None = None
    successor: str | None = None
    max_references: int | None = None
    max_pixels: int | None = None
    max_aspect: float | None = None
    complexities: tuple[str, ...] = ()

    def is_shut_down(self, on: dt.date | None = None) -> bool:
        """Whether the provider has shut the model down by ``on`` (default: ``today()``)."""
        return self.shutdown is not None and self.shutdown <= (on or today())

    def lifecycle_note(self, on: dt.date | None = None) -> str:
        """What the window and the lists say beside the model: deprecated or shut down (with
        its successor), then its ``note``; ``""`` for a current model without one."""
        day = on or today()
        parts = []
        if self.is_shut_down(day):
            parts.append(
                tr("shut down on {date}: use {successor}").format(
                    date=self.shutdown, successor=self.successor
                )
            )
        elif self.deprecated is not None and self.deprecated <= day:
            line = tr("deprecated since {date}").format(date=self.deprecated)
            if self.shutdown is not None:
                line += tr(", shuts down on {date}").format(date=self.shutdown)
            if self.successor:
                line += tr("; successor {successor}").format(successor=self.successor)
            parts.append(line)
        if self.note:
            parts.append(tr(self.note))
        return "; ".join(parts)

    def refusal(self, on: dt.date | None = None) -> str | None:
        """The sentence refusing a batch that names this model once it is shut down
        (``None``: it may be used)."""
        if not self.is_shut_down(on):
            return None
        return tr("{id} was shut down by its provider on {date}; use {successor} instead").format(
            id=self.id, date=self.shutdown, successor=self.successor
        )

    def check(self, spec: JobSpec) -> list[tuple[str, str]]:
        """Problems of ``spec`` for this model as ``(field, message)`` pairs."""
        problems: list[tuple[str, str]] = []
        if spec.operation == "generate" and not self.generates:
            problems.append(
                (
                    "operation",
                    tr("{id} only edits images: give a reference image").format(id=self.id),
                )
            )
        if spec.operation in ("edit", "transform") and not self.edits:
            problems.append(
                ("operation", tr("{id} does not take a reference image").format(id=self.id))
            )
        refs = len(spec.reference_images)
        if self.max_references is not None and refs > self.max_references:
            problems.append(
                (
                    "reference_images",
                    tr("{id} takes at most {most} reference images; got {count}").format(
                        id=self.id, most=self.max_references, count=refs
                    ),
                )
            )
        if spec.mask and not self.masks:
            problems.append(("mask", tr("{id} does not take a mask").format(id=self.id)))
        size_problem = self._size_problem(spec.size)
        if size_problem:
            problems.append(("size", size_problem))
        if spec.quality not in self.qualities:
            problems.append(
                (
                    "quality",
                    tr("{id} accepts {qualities}; got {quality}").format(
                        id=self.id, qualities=", ".join(self.qualities), quality=spec.quality
                    ),
                )
            )
        if spec.transparent_background:
            if not self.transparent_background:
                problems.append(
                    (
                        "transparent_background",
                        tr("{id} cannot make transparent backgrounds").format(id=self.id),
                    )
                )
            elif spec.output_format == "jpeg":
                problems.append(
                    ("transparent_background", tr("JPEG has no transparency: choose png or webp"))
                )
        return problems + self._complexity_problem(spec.complexity)

    def _complexity_problem(self, complexity: str | None) -> list[tuple[str, str]]:
        if complexity is None or complexity in self.complexities:
            return []
        if not self.complexities:
            return [("complexity", tr("{id} takes no complexity").format(id=self.id))]
        return [
            (
                "complexity",
                tr("{id} accepts complexity {values}; got {value}").format(
                    id=self.id, values=", ".join(self.complexities), value=complexity
                ),
            )
        ]

    def _size_problem(self, size: str) -> str | None:
        """Why this model cannot make ``size`` (``None``: it can). ``auto`` (no size given)
        is always accepted: the provider chooses, or, where it takes fixed sizes only, makes
        1024x1024 (``parse_size``)."""
        if size in self.sizes or size == "auto":
            return None
        w, h = parse_size(size)
        m = self.custom_size_multiple
        if m is None:
            return tr("{id} accepts {sizes}; got {size}").format(
                id=self.id, sizes=", ".join(self.sizes), size=size
            )
        if w % m or h % m or w > self.max_width or h > self.max_height:
            return tr(
                "{id} needs both sides divisible by {multiple}, at most {max_width}x{max_height}; got {size}"
            ).format(
                id=self.id,
                multiple=m,
                max_width=self.max_width,
                max_height=self.max_height,
                size=size,
            )
        return self._area_problem(size, w, h)

    def _area_problem(self, size: str, w: int, h: int) -> str | None:
        """Why ``w``×``h`` has too many pixels or too long a side ratio (``None``: fine)."""
        if self.max_pixels is not None and w * h > self.max_pixels:
            return tr(
                "{id} makes at most {max_pixels} pixels per image; {size} has {pixels}"
            ).format(id=self.id, max_pixels=self.max_pixels, size=size, pixels=w * h)
        if self.max_aspect is not None and max(w, h) > self.max_aspect * min(w, h):
            return tr(
                "{id} needs the longer side at most {ratio:g} times the shorter; got {size}"
            ).format(id=self.id, ratio=self.max_aspect, size=size)
        return None


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, so the window offers only what works.

    Attributes:
        name: registry key (``openai``).
        label: the provider's one name for people (``OpenAI``), in the window and in messages.
        description: a few words shown after the label in lists (``offline, free``).
        models: its models, the default first (a provider of hosted models reads them from
            the catalogue in force, ``atelier.providers.catalogue.CatalogueModels``).
        needs_key: whether an API key is required.
        key_env_var: the environment variable read when keyring has no key.
        base_url_env_var: the environment variable that overrides the endpoint.
        default_base_url: the public endpoint (including the API version path).
        negative_prompt, seed: whether those fields reach the model.
        edits: whether any model accepts reference images.
        batch_api: whether an asynchronous discounted batch API exists (``atelier.providers.economy``).
        batch_references: whether the batch API takes requests with reference images (OpenAI's
            does not: an edit is a multipart upload, its batch lines are JSON bodies of
            ``/v1/images/generations``; such a request is sent at once, at list price).
        default_concurrency: a sensible number of requests in flight.
        max_concurrency: a hard cap on requests in flight (BFL: 24 active tasks; A1111: 1).
        rate_limit: ``(requests, seconds)`` the provider allows (Stability: 150 per 10 s).
        rate_limit_lockout_s: how long the provider locks a key out after exceeding it.
        key_label: what the key field holds (an API key, or ``user:password`` for A1111).
        style_presets: accepted ``style_preset`` values (Stability).
        local: self-hosted (no per-image price).
        any_model: every model id is accepted and made like the first model (draft, so a
            config written for ``gpt-image-2`` can be rehearsed offline).
    """

    name: str
    label: str
    models: Sequence[ModelInfo]
    needs_key: bool
    key_env_var: str | None
    base_url_env_var: str | None
    default_base_url: str
    negative_prompt: bool = False
    seed: bool = False
    edits: bool = False
    batch_api: bool = False
    batch_references: bool = True
    default_concurrency: int = 4
    max_concurrency: int | None = None
    rate_limit: tuple[int, float] | None = None
    rate_limit_lockout_s: float | None = None
    key_label: str = N_("API key")
    style_presets: tuple[str, ...] = ()
    local: bool = False
    description: str = ""
    any_model: bool = False

    @property
    def title(self) -> str:
        """The label with its description, for lists: ``Draft (offline, free)``."""
        return f"{self.label} ({tr(self.description)})" if self.description else self.label

    def model(self, model_id: str) -> ModelInfo | None:
        """The model called ``model_id``, or ``None`` (with ``any_model``: the first model's
        abilities under that id)."""
        found = next((m for m in self.models if m.id == model_id), None)
        if found is None and self.any_model and model_id:
            return dataclasses.replace(self.models[0], id=model_id, label=model_id)
        return found

    def offered(self, on: dt.date | None = None) -> tuple[ModelInfo, ...]:
        """The models offered for new batches: all but those shut down by ``on`` (default:
        ``today()``)."""
        day = on or today()
        return tuple(m for m in self.models if not m.is_shut_down(day)) or tuple(self.models[:1])

    @property
    def default_model(self) -> str:
        """The first (recommended) model's id that is not shut down."""
        return self.offered()[0].id


@dataclass(frozen=True)
class GenerationRequest:
    """One request: one prompt, ``n`` images. ``first_sample`` numbers the images (0-based)."""

    model: str
    prompt: str
    size: str
    quality: str
    output_format: str
    n: int = 1
    negative_prompt: str = ""
    transparent_background: bool = False
    moderation: str = "auto"
    seed: int | None = None
    first_sample: int = 0
    row_values: dict[str, str] = field(default_factory=dict)
    operation: Literal["generate", "edit", "transform"] = "generate"
    reference_images: tuple[bytes, ...] = ()
    mask: bytes | None = None
    style_preset: str | None = None
    input_fidelity: str | None = None
    """OpenAI edits only: ``low`` | ``high`` (API reference, images/edits)."""
    complexity: str | None = None
    """OpenAI: ``low`` | ``medium`` | ``high`` where the model takes it (``None``: not sent)."""
    retry: int = 0
    """How many times this job was already tried again (0: its first request)."""
    gone: int = 0
    """How many remote jobs holding this job's request (provider batches) ended without its
    answer (expired, cancelled, forgotten); economy mode then may use the standard API."""
    on_progress: Callable[[float], None] | None = field(default=None, compare=False, repr=False)
    resume: dict[str, Any] | None = None
    """A remote job an earlier attempt submitted (the handle it gave ``on_submitted``): a
    provider that returns a job id follows it instead of submitting (and paying) again, and
    raises ``remote_gone`` when the job no longer exists."""
    on_submitted: Callable[[dict[str, Any]], None] | None = field(
        default=None, compare=False, repr=False
    )
    """Called with a JSON-able handle as soon as the provider has a job id, before waiting."""
    keep_remote: Callable[[], bool] | None = field(default=None, compare=False, repr=False)
    """Asked when the request is cancelled: ``True`` (the studio is quitting) leaves the remote
    job running for the next run to follow; otherwise (a job timeout, a cancelled batch) the
    provider cancels it."""

    @classmethod
    def from_spec(
        cls,
        spec: JobSpec,
        *,
        model: str,
        samples: list[int],
        reference_images: tuple[bytes, ...] = (),
        mask: bytes | None = None,
        seed_offset: int = 0,
        **extra: Any,
    ) -> GenerationRequest:
        """The request for ``samples`` (0-based sample indices, consecutive) of ``spec`` on
        ``model`` (the resolved one): the fields ``atelier.core.spec_fields.REQUEST``
        declares, copied by name, with the reference and ``mask`` images as read (bytes);
        ``extra`` sets the run's own fields (``retry``, ``gone``, ``on_progress``…);
        ``seed_offset`` is added to a given seed (a quality re-make asks for another image)."""
        copied: dict[str, Any] = {name: getattr(spec, name) for name in REQUEST.fields}
        if seed_offset and copied.get("seed") is not None:
            copied["seed"] += seed_offset
        return cls(
            model=model,
            n=len(samples),
            first_sample=samples[0],
            reference_images=reference_images,
            mask=mask,
            **copied,
            **extra,
        )

    def detached(self) -> bool:
        """Whether a cancel now should leave the remote job running (see ``keep_remote``)."""
        return self.keep_remote is not None and self.keep_remote()

    def submitted(self, handle: dict[str, Any]) -> None:
        """Hand the remote job's handle to the caller (stored before the wait begins)."""
        if self.on_submitted is not None:
            self.on_submitted(handle)

    def progress(self, fraction: float) -> None:
        """Report progress (0–1) of a long request, when the provider can tell."""
        if self.on_progress is not None:
            self.on_progress(max(0.0, min(1.0, fraction)))


REMOTE_GONE = "remote_gone"
"""``ProviderError.code`` of a followed remote job that no longer exists (expired, or the
server restarted): the request is submitted anew."""
MAX_REMOTE_GONE = 2
"""How many times the remote jobs holding a job's request (provider batches that expired, a
followed job the server forgot) may end without its answer before the job fails, or (economy
with ``economy_retry = "now"``) goes through the standard API instead (``atelier.engine.jobrun``)."""


def remote_gone(label: str, what: str) -> ProviderError:
    """The error a provider raises when the remote job it was asked to follow is gone."""
    return ProviderError(
        ErrorClass.SERVER_ERROR,
        tr("{provider} no longer has {what} this job was waiting for; it is sent again.").format(
            provider=label, what=what
        ),
        code=REMOTE_GONE,
        retryable=True,
    )


@dataclass(frozen=True)
class GeneratedImage:
    """Image bytes as returned (``mime`` may differ from the requested format)."""

    data: bytes
    mime: str | None = None
    seed: int | None = None


@dataclass
class GenerationResult:
    """A provider's answer.

    Attributes:
        images: the images, in sample order.
        usage: the provider's usage block, when it sends one (OpenAI ``usage``).
        request_id: the provider's request id, for support tickets.
        revised_prompt: the prompt the model actually used, if it says.
        rate_limits: ``x-ratelimit-*`` values seen on the response (limit/remaining/reset).
    """

    images: list[GeneratedImage]
    usage: dict[str, object] | None = None
    request_id: str | None = None
    revised_prompt: str | None = None
    rate_limits: dict[str, str] = field(default_factory=dict)


class Provider(abc.ABC):
    """Base class of every provider adapter.

    The constructor contract, the same for every provider (``registry.create_provider``
    relies on it): ``Provider(api_key=None, base_url=None, **options)``, where ``options`` are
    the provider's own keyword settings (ComfyUI's ``workflow``, draft's ``delay_ms``); a
    provider that needs no key or endpoint ignores them.
    """

    capabilities: ClassVar[Capabilities]
    fixed_concurrency: int | None = None
    """Requests in flight whatever the run's concurrency says (a farm of N servers: N)."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        self._key = api_key
        self.base_url = base_url

    @property
    def label(self) -> str:
        """The provider's name in messages (``capabilities.label``)."""
        return self.capabilities.label

    def unexpected(self, e: Exception) -> ProviderError:
        """Classify an exception ``generate`` raised that is not a ``ProviderError``: by default
        Atelier's own failure (``internal``, never retried: the same request would fail the
        same way). HTTP adapters read it as a malformed answer instead."""
        return ProviderError(
            ErrorClass.INTERNAL,
            tr(
                "Atelier could not handle this {provider} request ({reason}). The rest of the batch goes on; the details are in the log."
            ).format(provider=self.label, reason=describe_exception(e)),
        )

    @abc.abstractmethod
    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Make ``request.n`` images.

        Raises:
            ProviderError: classified (``atelier.core.errors.ErrorClass``), with a readable message.
        """

    def price_factor(self, request: GenerationRequest) -> float:
        """What ``request`` costs against the list price (economy: the batch discount)."""
        return 1.0

    async def test_connection(self) -> str:
        """Check endpoint and key without spending money; return a one-line verdict.

        Raises:
            ProviderError: with a message that tells a wrong key from a wrong URL or a down server.
        """
        return "ready"

    async def aclose(self) -> None:
        """Release connections."""
        return None

    def check(self, spec: JobSpec, model: str) -> list[tuple[str, str]]:
        """Problems of ``spec`` on ``model`` as ``(field, message)`` pairs (empty = fine)."""
        info = self.capabilities.model(model)
        if info is None:
            known = ", ".join(m.id for m in self.capabilities.models)
            return [
                (
                    "model",
                    tr("{provider} has no model {model!r} (known: {known})").format(
                        provider=self.capabilities.label, model=model, known=known
                    ),
                )
            ]
        return info.check(spec)
