"""Pydantic models: what a batch is made of, how it is configured, and what it reports.

``BatchConfig`` reads the batch-config JSON format of ``shared/data/batch-configs/``
(``jobs[]`` with prompt, output_path, size, quality, output_format, transparent_background,
moderation, sample_count; ``output_dir``, ``max_concurrent``, ``timeout`` in ms,
``retry_policy``). Unknown keys are kept and reported as warnings, never silently dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from atelier.core.delivery_config import Delivery, Target
from atelier.core.errors import DEFAULT_RETRYABLE, ErrorClass, InputError
from atelier.core.files import read_json
from atelier.core.i18n import N_, tr

# Re-exported: loaders and forms import it from here (one way to word pydantic's errors).
from atelier.core.validation_messages import validation_problems as validation_problems

OutputFormat = Literal["png", "jpeg", "webp"]
Operation = Literal["generate", "edit", "transform"]

_CLASSES = frozenset(str(c) for c in ErrorClass)
Moderation = Literal["auto", "low"]
"""What OpenAI's ``moderation`` takes (API reference, images/create)."""
ConfigModeration = Literal["auto", "low", "medium", "high"]
"""What the reference batch tool documents for ``moderation``; see ``wire_moderation``."""
Complexity = Literal["low", "medium", "high"]
"""What OpenAI's ``complexity`` takes (openai-python 3.63.0 ``image_generate_params``)."""

_SIZE_RE = re.compile(r"^(auto|[1-9][0-9]{1,4}x[1-9][0-9]{1,4})$")


def parse_size(size: str) -> tuple[int, int]:
    """``"1536x1024"`` → ``(1536, 1024)``; ``"auto"`` → ``(1024, 1024)``.

    Raises:
        ValueError: when the text is not ``WxH`` or ``auto``.
    """
    if size == "auto":
        return (1024, 1024)
    if not _SIZE_RE.match(size):
        raise ValueError(
            tr("size must look like 1024x1024 or be 'auto', got {size!r}").format(size=size)
        )
    w, h = size.split("x")
    return int(w), int(h)


class RetryPolicy(BaseModel):
    """When and how fast a failed attempt is tried again.

    Waits are exponential with full jitter: ``uniform(0, min(max_delay_ms, retry_delay_ms·2ⁿ))``
    for the n-th retry, and never shorter than a server's Retry-After.
    """

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(default=3, ge=0, le=20)
    retry_delay_ms: int = Field(default=1000, ge=0, le=600_000)
    max_delay_ms: int = Field(default=60_000, ge=0, le=3_600_000)
    retry_on_errors: list[str] = Field(
        default_factory=lambda: [str(c) for c in DEFAULT_RETRYABLE], max_length=64
    )
    """Error classes (``rate_limit``, ``timeout``…) or, as the reference batch tool takes
    them, free-text patterns matched case-insensitively against the error message
    (``"429"``, ``"overloaded"``)."""

    def retries_on(self, error_class: str, message: str) -> bool:
        """Whether an error of ``error_class`` saying ``message`` is one this policy names."""
        text = message.lower()
        return any(
            entry == error_class or (entry not in _CLASSES and entry.lower() in text)
            for entry in self.retry_on_errors
            if entry
        )

    def patterns(self) -> list[str]:
        """The entries that are not error classes (matched as text)."""
        return [e for e in self.retry_on_errors if e not in _CLASSES]


class JobSpec(BaseModel):
    """One job: one prompt, ``sample_count`` images, each its own file.

    ``output_path`` is relative to the batch output folder and already safe (see
    ``atelier.sheet.templates.safe_relative_path``); with ``sample_count`` > 1 the files are
    ``stem-1.ext`` … ``stem-N.ext``. ``row_values`` holds the spreadsheet row the job came from
    (the draft provider draws them; nothing is sent to a paid provider from it).
    """

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=32_000)
    negative_prompt: str = ""
    output_path: str
    size: str = "1024x1024"
    quality: str = "auto"
    output_format: OutputFormat = "png"
    transparent_background: bool = False
    moderation: Moderation = "auto"
    sample_count: int = Field(default=1, ge=1, le=10)
    seed: int | None = Field(default=None, ge=0, le=4_294_967_294)
    row_index: int | None = None
    row_indexes: list[int] = Field(default_factory=list, exclude_if=lambda v: not v)
    """Every spreadsheet row (0-based, ascending) this job makes the image of, when rows that
    make the same image were made one job (``atelier.sheet.products``); empty: just ``row_index``."""
    row_values: dict[str, str] = Field(default_factory=dict)
    provider: str | None = None
    model: str | None = None
    operation: Operation = "generate"
    reference_images: list[str] = Field(default_factory=list)
    mask: str | None = None
    style_preset: str | None = None
    input_fidelity: Literal["low", "high"] | None = None
    complexity: Complexity | None = Field(default=None, exclude_if=lambda v: v is None)
    """How much the model plans the image, apart from its quality (OpenAI's ``complexity``:
    openai-python 3.63.0 ``image_generate_params``); ``None``: the model's own default, and
    left out of the job's JSON (a team worker of an earlier version reads it as before)."""

    @model_validator(mode="after")
    def _check_refs(self) -> JobSpec:
        _check_operation(self.operation, self.reference_images, self.mask)
        return self

    @field_validator("size")
    @classmethod
    def _check_size(cls, v: str) -> str:
        parse_size(v)
        return v

    def source_rows(self) -> list[int]:
        """The spreadsheet rows (0-based) this job stands for: ``row_indexes``, else
        ``row_index`` alone, else none (a batch-config job)."""
        if self.row_indexes:
            return list(self.row_indexes)
        return [] if self.row_index is None else [self.row_index]

    def sample_paths(self, version: int | None = None) -> list[str]:
        """Relative file paths of every sample, in sample order: the job's own names, or, for
        ``version``, the names that version's files keep beside them (``cup.v2.png``)."""
        p = Path(self.output_path)
        tag = f".v{version}" if version is not None else ""
        if self.sample_count == 1:
            return [str(p.with_name(f"{p.stem}{tag}{p.suffix}")) if tag else self.output_path]
        return [
            str(p.with_name(f"{p.stem}-{i}{tag}{p.suffix}"))
            for i in range(1, self.sample_count + 1)
        ]


class ConfigJob(BaseModel):
    """A job as written in a batch-config file (before path resolution).

    ``operation`` ``edit`` takes ``reference_image`` (or a list in ``reference_images``) and an
    optional ``mask``; ``transform`` takes a reference image and no mask. Image paths are
    relative to the config file.
    """

    model_config = ConfigDict(extra="allow")

    operation: Operation = "generate"
    reference_image: str | None = Field(
        default=None, validation_alias=AliasChoices("reference_image", "reference_image_path")
    )
    reference_images: list[str] = Field(default_factory=list)
    mask: str | None = Field(default=None, validation_alias=AliasChoices("mask", "mask_image_path"))
    provider: str | None = None
    model: str | None = None
    style_preset: str | None = None
    input_fidelity: Literal["low", "high"] | None = None
    """OpenAI edits: how closely the result keeps the reference's features (API reference)."""
    complexity: Complexity | None = None
    """OpenAI gpt-image-2.6: how much the model plans the image (``JobSpec.complexity``)."""

    prompt: str = Field(min_length=1, max_length=32_000)
    negative_prompt: str = ""
    output_path: str | None = Field(default=None, min_length=1)
    """Optional, as in the reference tool: ``batch_N`` (1-based) with the format's extension."""
    size: str | None = None
    """``None``: none given, so none is sent (the API's ``auto``), as the reference tool does."""
    quality: str = "auto"
    output_format: OutputFormat | None = None
    transparent_background: bool = False
    moderation: ConfigModeration = "auto"
    sample_count: int = Field(default=1, ge=1, le=10)
    seed: int | None = Field(default=None, ge=0, le=4_294_967_294)

    @field_validator("size")
    @classmethod
    def _check_size(cls, v: str | None) -> str | None:
        if v is not None:
            parse_size(v)
        return v

    @model_validator(mode="after")
    def _check_refs(self) -> ConfigJob:
        refs = ([self.reference_image] if self.reference_image else []) + self.reference_images
        _check_operation(self.operation, refs, self.mask)
        return self


def _check_operation(operation: str, refs: list[str], mask: str | None) -> None:
    if operation in ("edit", "transform") and not refs:
        raise ValueError(
            tr("operation '{operation}' needs a reference_image").format(operation=operation)
        )
    if operation == "generate" and (refs or mask):
        raise ValueError(tr("a reference image or mask needs operation 'edit' or 'transform'"))
    if operation == "transform" and mask:
        raise ValueError(tr("operation 'transform' takes no mask (use 'edit')"))


class BatchConfig(BaseModel):
    """A batch-config file. ``timeout`` is the whole batch's limit in milliseconds."""

    model_config = ConfigDict(extra="allow")

    jobs: list[ConfigJob] = Field(min_length=1)
    output_dir: str | None = None
    """``None``: ``OPENAI_IMAGE_OUTPUT_DIR``, else ``./generated-images`` (see ``app.envvars``)."""
    max_concurrent: int | None = Field(default=None, ge=1, le=64)
    timeout: int | None = Field(default=None, ge=1)
    job_timeout: int | None = Field(default=None, ge=1)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    provider: str | None = None
    model: str | None = None
    budget_usd: float | None = Field(default=None, ge=0)
    deliver: list[Target] = Field(default_factory=list)
    """Delivery targets (``atelier.core.delivery_config``): ``[{"kind": "s3", "bucket": …}, …]``."""
    deliver_after_review: bool = False

    def warnings(self) -> list[str]:
        """Unknown keys, named by place (``jobs[2].colour``): kept, reported, never fatal."""
        out = [tr("{key}: unknown key, ignored").format(key=k) for k in (self.model_extra or {})]
        for i, job in enumerate(self.jobs):
            out += [
                tr("jobs[{i}].{key}: unknown key, ignored").format(i=i, key=k)
                for k in (job.model_extra or {})
            ]
        for text in self.retry_policy.patterns():
            out.append(
                tr(
                    "retry_policy.retry_on_errors: {text!r} is not an error class; a failure "
                    "whose message contains it is retried (classes: {classes})"
                ).format(text=text, classes=", ".join(sorted(_CLASSES)))
            )
        return out


def wire_moderation(value: str) -> tuple[Moderation, str | None]:
    """The reference tool's ``moderation`` (``auto | low | medium | high``) as the API takes it
    (``auto | low``, OpenAI API reference) and a warning when it had to change: ``medium`` and
    ``high`` ask for at least the standard filter, which is ``auto`` (``low`` is the lenient
    one)."""
    if value == "low":
        return "low", None
    if value == "auto":
        return "auto", None
    return "auto", (
        tr(
            "moderation: {value!r} is not a value the API takes (auto, low): sending 'auto', its standard (stricter) filtering"
        ).format(value=value)
    )


def problems_error(where: str, problems: list[tuple[str, str]]) -> InputError:
    """One ``InputError`` for every problem: the first names the place in ``where``
    (``cfg.json: jobs[1].size``), the others follow in full."""
    first_place, first_msg = problems[0]
    rest = "".join(f"; {place}: {msg}" for place, msg in problems[1:])
    return InputError(f"{where}{first_place}", f"{first_msg}{rest}")


def load_batch_config(path: Path) -> BatchConfig:
    """Read and validate a batch-config JSON file.

    Raises:
        InputError: naming the file and every bad field, e.g. ``cfg.json: jobs[1].size: …``.
    """
    raw: Any = read_json(path, N_("batch config"))
    try:
        return BatchConfig.model_validate(raw)
    except ValidationError as e:
        raise problems_error(f"{path}: ", validation_problems(e)) from e


def _absent(value: object) -> bool:
    return value is None or value == []


class DeliveryResult(BaseModel):
    """One delivery of a job's image (or of its failure) to one target: ``status`` is
    ``delivered``, ``pending`` (not yet, or a retry is scheduled), ``sending`` or ``failed``;
    ``url`` what the target gave back (the public address of an object)."""

    target: str
    status: str
    url: str | None = None
    error: str | None = None


class JobResult(BaseModel):
    """One job's line in the report, in the reference batch tool's shape ("Batch Processing
    Result JSON Format" of its BATCH_PROCESSING.md): ``job_id`` a string, and the fields it
    sends "only when" (``output_path``/``output_paths``/``history_uuid`` for images made,
    ``error`` for failures, ``duration_ms`` once run) absent rather than null. ``attempts``,
    ``error_type`` and ``cost`` (USD) are Atelier's; ``job_id`` is the store's job id."""

    job_id: str
    prompt: str
    status: str
    output_path: str | None = Field(default=None, exclude_if=_absent)
    output_paths: list[str] = Field(default_factory=list, exclude_if=_absent)
    error: str | None = Field(default=None, exclude_if=_absent)
    error_type: str | None = Field(default=None, exclude_if=_absent)
    attempts: int = 0
    duration_ms: int | None = Field(default=None, exclude_if=_absent)
    cost: float | None = Field(default=None, exclude_if=_absent)
    history_uuid: str | None = Field(default=None, exclude_if=_absent)
    """The UUID of the job's first image record in the store."""
    version: int = Field(default=1, exclude_if=lambda v: v == 1)
    """The version the job shows (present once it was regenerated, see ``atelier.output.versions``)."""
    deliveries: list[DeliveryResult] = Field(default_factory=list, exclude_if=_absent)
    """Where its images went (present when the batch delivers, see ``atelier.delivery``)."""
    reused_from: str | None = Field(default=None, exclude_if=_absent)
    """The file its (first) image is a copy of, made at $0 by an identical request of this
    batch or an earlier one (``atelier.pricing.reuse``); absent when it was made."""
    qa_flags: list[str] = Field(default_factory=list, exclude_if=_absent)
    """What the quality checks on save flagged in the images it shows (``atelier.output.qa``:
    ``blank``, ``black``, ``uniform``, ``wrong_size``, ``wrong_aspect``, ``duplicate``); absent
    when they passed."""
    qa_remakes: int = Field(default=0, exclude_if=lambda v: v == 0)
    """Images made again because of a flag (``--qa-retry``), each paid and in ``cost``."""


class BatchReport(BaseModel):
    """The report written next to the images and printed by ``atelier run --format json``.

    Costs are USD; ``estimated_cost``/``total_cost`` are ``None`` when a price is unknown.
    """

    batch_id: int
    provider: str
    model: str
    total: int
    succeeded: int
    failed: int
    cancelled: int
    pending: int = 0
    results: list[JobResult]
    started_at: str | None
    """ISO 8601 in UTC with milliseconds and ``Z`` (``2026-12-02T10:00:00.000Z``)."""
    finished_at: str | None
    total_duration_ms: int | None
    estimated_cost: float | None
    total_cost: float | None = Field(default=None, exclude_if=_absent)
    """USD, a number whenever every job's price is known; absent otherwise (as the reference)."""
    stopped_reason: str | None = None
    warnings: list[str] = Field(default_factory=list)
    paid_twice: int = 0
    """Requests billed whose image was lost (a result URL that expired before its download, a
    provider batch's output line that could not be read), each followed by one more paid
    request for the same image."""
    lost_in_flight: int = 0
    """Requests given up in flight, each sent again and perhaps billed twice: cancelled by the
    job timeout (counted in the cost at the estimated price), or in flight when their process
    died, on providers without a job id to follow (OpenAI, Gemini, Stability, A1111).
    Job-id providers (fal, Replicate, BFL, ComfyUI) are followed instead (``atelier.engine.jobrun``)."""
    qa_flagged: int = 0
    """Images the quality checks on save flagged (of those the jobs show)."""
    qa_remakes: int = 0
    """Images made again because of a flag (``--qa-retry``); their cost is in ``total_cost``."""
    deliveries: dict[str, int] | None = Field(default=None, exclude_if=_absent)
    """``{"delivered", "failed", "pending"}`` counts of the outbox (present when the batch
    delivers); ``pending`` includes deliveries in flight."""


class JobDefaults(BaseModel):
    """Per-batch image settings applied to every row of a spreadsheet batch."""

    size: str = "1024x1024"
    quality: str = "auto"
    output_format: OutputFormat = "png"
    transparent_background: bool = False
    moderation: Moderation = "auto"
    sample_count: int = Field(default=1, ge=1, le=10)
    seed: int | None = Field(default=None, ge=0, le=4_294_967_294)
    style_preset: str | None = None
    complexity: Complexity | None = None

    @field_validator("size")
    @classmethod
    def _check_size(cls, v: str) -> str:
        parse_size(v)
        return v


class LaneLimits(BaseModel):
    """A provider's limits as the user knows them (per minute; ``None`` = learn from headers)."""

    rpm: int | None = Field(default=None, ge=1)
    ipm: int | None = Field(default=None, ge=1)


class RunSettings(BaseModel):
    """How a batch runs; stored with the batch so a resume behaves the same.

    Times are milliseconds. ``batch_timeout_ms`` bounds the whole run; ``job_timeout_ms``
    bounds one request (both really cancel in-flight requests).
    """

    provider: str = "draft"
    model: str = "draft"
    concurrency: int = Field(default=4, ge=1, le=64)
    job_timeout_ms: int = Field(default=300_000, ge=1)
    batch_timeout_ms: int | None = Field(default=None, ge=1)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    base_url: str | None = None
    provider_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per provider, extra constructor options: ComfyUI's ``workflow`` path and ``mapping``."""
    rate_limits: dict[str, LaneLimits] = Field(default_factory=dict)
    budget_usd: float | None = Field(default=None, ge=0)
    overwrite: bool = False
    """Replace files in the output folder that Atelier did not make (off: they are kept)."""
    delivery: Delivery | None = None
    """Where images go once written or picked (``atelier.delivery``); ``None``: the folder only."""
    reuse: bool = True
    """Copy an identical request's image (this batch's or any earlier one's) instead of paying
    for it again (``atelier.pricing.reuse``); off: "always make new images" (``--no-reuse``)."""
    economy: list[str] = Field(default_factory=list)
    """Providers whose lane goes through their batch API at its discount (``atelier.providers.economy``);
    ``"*"``: every provider of the batch that has one (``--economy``)."""
    economy_retry: Literal["economy", "now"] = "economy"
    """Where an economy line that failed is tried again: in the next provider batch, or at
    once through the synchronous API (at list price)."""
    qa_retry: int = Field(default=0, ge=0, le=10)
    """How many times an image the quality checks on save flag (blank, black, near-uniform,
    wrong size or aspect, near-duplicate: ``atelier.output.qa``) is made again, each re-make
    paid and counted, within the budget cap; 0: flagged, never re-made (``--qa-retry``)."""
    economy_poll_ms: int = Field(default=3000, ge=10)
    """The first wait between polls of a provider batch; each next wait is 1.5× longer, up to
    ``ECONOMY_POLL_MAX_S``."""

    channels: list[str] = Field(default_factory=list)
    """The channels (``atelier.output.channels`` profile ids) the batch's images are judged
    against as they are saved, and exported and delivered to (``--channels``); checked against
    the known profiles at the door (``atelier.cli.run_flags``, the batch page)."""

    @field_validator("channels")
    @classmethod
    def _channel_ids(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for c in value:
            c = c.strip().lower()
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", c):
                raise ValueError(tr("channels: {id!r} is not a channel id").format(id=c))
            if c not in out:
                out.append(c)
        return out

    def economy_for(self, provider: str) -> bool:
        """Whether ``provider``'s lane runs in economy (its batch API)."""
        return "*" in self.economy or provider in self.economy
