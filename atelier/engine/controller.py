"""The one path from a plan to images, for both front ends: check → store → run → retry →
resume. The command line (``atelier.cli.main``) and the window (``atelier.studio``) call these functions and
nothing else for those steps, so each rule exists once:

* what must hold before a batch is stored (``check_run``: jobs exist, every job fits its
  provider's model, a ComfyUI workflow is given; ``check_keys``: a key exists for every paid
  provider the batch uses);
* what storing does (``store_batch``: the output folder is checked, the user's own files are
  kept, and an identical earlier batch is continued instead of stored again);
* what "resume" resets (``resume_batch``: failed and cancelled jobs go back to pending;
  jobs a dead process left running are recovered when the run starts);
* what "retry" does (``retry_jobs``: the same jobs, new attempts, joined to a run in progress).

Running, pausing and cancelling are the engine's own (``Engine.run``, ``pause``, ``cancel``,
and ``stop_here`` for a signal), called on its loop. No Qt here; every function is safe to call
from a worker thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.delivery_config import Delivery, check_secrets
from atelier.core.errors import InputError
from atelier.core.files import check_output_dir
from atelier.core.i18n import tr
from atelier.core.models import RunSettings
from atelier.core.secrets import get_key
from atelier.core.status import JobStatus
from atelier.delivery.base import placeholders
from atelier.delivery.checks import SHOWN_ROWS, check_delivery, templates_of
from atelier.delivery.forms import DeliveryForm, delivery_from_form
from atelier.delivery.plan import delivery_changed, picked_outbox
from atelier.output.channels.batch import channel_list
from atelier.output.images import made_by_atelier
from atelier.output.versions import Change, Regenerated, regenerate
from atelier.pricing.estimate import Estimate
from atelier.pricing.reuse import estimate_with_reuse
from atelier.pricing.table import PriceTable
from atelier.providers.comfyui import find_targets, load_workflow
from atelier.providers.economy.lanes import economy_factors
from atelier.providers.registry import capabilities_of
from atelier.sheet.plan import Plan, SheetBatch, check_plan, fingerprint
from atelier.store import Store

if TYPE_CHECKING:
    from atelier.engine.engine import Engine

EngineCall = Callable[..., None]
"""Runs ``fn(*args)`` on the engine's event loop (the window's engine thread, or at once)."""


def call_now(fn: Callable[..., Any], *args: Any) -> None:
    """The ``EngineCall`` of a caller already on the engine's loop (the command line, tests)."""
    fn(*args)


@dataclass(frozen=True)
class PlannedBatch:
    """A batch as planned, before it is stored (what is planned from: ``SheetBatch``, the
    command line's ``FileInputs``; its jobs: ``Plan``; once stored: ``Stored``). "Draft"
    is the free offline provider, never a batch.

    Attributes:
        plan: the validated jobs.
        settings: provider, model, concurrency, timeouts, budget…
        output_dir: where its images go.
        name, source: shown in History (the file it came from).
        rows: jobs come from spreadsheet rows (messages name rows, not ``jobs[i]``).
    """

    plan: Plan
    settings: RunSettings
    output_dir: Path
    name: str
    source: str
    rows: bool = False


@dataclass(frozen=True)
class Stored:
    """A stored batch ready to run. ``resumed``: an identical batch existed and is continued;
    ``reset_jobs``: its failed and cancelled jobs put back to pending."""

    batch_id: int
    resumed: bool
    reset_jobs: int


def workflow_options(workflow: Path, mapping: dict[str, str] | None = None) -> dict[str, Any]:
    """ComfyUI's provider options for ``workflow`` (saved in API format), checked now so a
    broken workflow is bad input before anything runs.

    Raises:
        InputError: the file cannot be read or its inputs cannot be found.
    """
    find_targets(load_workflow(workflow), mapping or {})
    return {"workflow": str(workflow.resolve()), "mapping": dict(mapping or {})}


def providers_used(planned: PlannedBatch) -> list[str]:
    """Every provider the batch's jobs go to, sorted."""
    return sorted(
        {planned.settings.provider} | {s.provider for s in planned.plan.specs if s.provider}
    )


def check_joined_rows(plan: Plan, delivery: Delivery) -> None:
    """Rows that render one job (the same prompt, negative prompt and file name) make one
    image, and a delivery is sent with the job's first row's values: refuse a delivery that
    names a column whose value differs among such rows (a CMS URL per ``{Variant SKU}``), which
    would otherwise reach only the first row, without a word.

    Raises:
        InputError: naming the rows and the column, and the two ways out.
    """
    named: set[str] = set()
    for t in delivery.targets:
        for name, text in templates_of(t).items():
            named.update(placeholders(text, f"delivery {t.name}.{name}", json_body=name == "body"))
    for i, cols in sorted(plan.varying.items()):
        clash = sorted(cols & named)
        if clash:
            spec = plan.specs[i]
            rows = ", ".join(str(r + 1) for r in spec.source_rows()[:SHOWN_ROWS])
            raise InputError(
                tr("rows {rows}").format(rows=rows),
                tr(
                    "these rows make one image (the same prompt and file name) but deliver "
                    "with different values of {{{column}}}; name {{{column}}} in the file name to "
                    "make one image per row, or take it out of the delivery"
                ).format(column=clash[0]),
            )


def check_run(planned: PlannedBatch, *, workflow_hint: str = "--workflow FILE") -> None:
    """Everything about ``planned`` that must hold before it is stored, estimated or sent.
    ``workflow_hint`` tells the user where a missing ComfyUI workflow is given.

    Raises:
        InputError: naming the file, field or row at fault.
    """
    rs = planned.settings
    if not planned.plan.specs:
        raise InputError(
            planned.source,
            tr("no row produced a job: {reasons}").format(
                reasons="; ".join(planned.plan.skipped[:3])
            ),
        )
    check_plan(planned.plan, rs.provider, rs.model, rows=planned.rows)
    if rs.delivery is not None:
        # An empty cell is left out of its row's values: the columns are those of every row.
        columns = list(dict.fromkeys(c for s in planned.plan.specs for c in s.row_values))
        rows = [
            (s.row_index + 1, s.row_values) for s in planned.plan.specs if s.row_index is not None
        ]
        check_delivery(rs.delivery, columns if planned.rows else [], rows if planned.rows else [])
        check_secrets(rs.delivery)
        check_joined_rows(planned.plan, rs.delivery)
    if "comfyui" in providers_used(planned) and "workflow" not in rs.provider_options.get(
        "comfyui", {}
    ):
        raise InputError(
            tr("ComfyUI workflow"),
            tr("ComfyUI jobs need a workflow saved in API format ({workflow_hint})").format(
                workflow_hint=workflow_hint
            ),
        )


def check_keys(planned: PlannedBatch) -> None:
    """Every paid provider the batch uses has a key (keyring or its environment variable).
    An estimate needs none; a run does.

    Raises:
        InputError: naming the first provider without a key and where to add it.
    """
    for name in providers_used(planned):
        caps = capabilities_of(name)
        if caps.needs_key and not get_key(name).key:
            raise InputError(
                tr("provider {name}").format(name=name),
                tr("no API key. Add it in the studio (Settings → Providers) or set {env}.").format(
                    env=caps.key_env_var
                ),
            )


def price(planned: PlannedBatch, prices: PriceTable, store: Store | None = None) -> Estimate:
    """The estimate shown before anything is spent (USD): see ``price_plan``."""
    rs = planned.settings
    return price_plan(
        planned.plan,
        prices,
        rs.provider,
        rs.model,
        rs.provider_options,
        rs.reuse,
        store,
        rs.economy,
    )


def price_plan(
    plan: Plan,
    prices: PriceTable,
    provider: str,
    model: str,
    provider_options: dict[str, dict[str, Any]],
    reuse: bool,
    store: Store | None,
    economy: list[str] | None = None,
) -> Estimate:
    """Images × price, identical requests priced once and, with ``store``, images an earlier
    batch made priced at $0 (``atelier.pricing.reuse``), unless the batch always makes new images; beside
    it the economy price (``Estimate.economy_usd``) where a provider has a batch API, the one
    paid when ``economy`` sets its lane to economy."""
    if not reuse:
        est = prices.estimate_specs(plan.specs, provider, model)
    else:
        find = store.reusable_images if store is not None else None
        est = estimate_with_reuse(plan, prices, provider, model, provider_options, find)
    used = [p for p, _ in est.priced_by_provider]
    chosen = economy_factors(used, economy) if economy else {}
    return est.with_economy(chosen or economy_factors(used), bool(chosen))


def resume_batch(store: Store, batch_id: int) -> list[int]:
    """The one meaning of "resume": failed and cancelled jobs go back to pending (same jobs,
    new attempts); finished images are kept. Returns the ids reset."""
    return store.reset_for_retry(store.job_ids(batch_id, (JobStatus.FAILED, JobStatus.CANCELLED)))


def store_batch(store: Store, planned: PlannedBatch, estimate: Estimate) -> Stored:
    """Store ``planned`` as a batch (``estimate``: its price, as ``price`` gave it before the
    spend question: a batch is priced once at its start), or find the identical earlier batch (same jobs, provider,
    model and output folder) and resume it (``resume_batch``): its finished images are never
    requested again. The user's own files in the output folder are kept (``keep_user_files``).
    Call ``check_run`` first.

    Raises:
        InputError: the output folder cannot hold the batch (``files.check_output_dir``).
    """
    check_output_dir(planned.output_dir, [s.output_path for s in planned.plan.specs])
    planned = keep_user_files(planned)
    rs = planned.settings
    out = planned.output_dir.resolve()
    fp = fingerprint(rs.provider, rs.model, out, planned.plan.specs)
    existing = store.find_batch(fp)
    if existing is not None:
        old = store.batch(existing).settings
        store.set_run_settings(existing, rs)
        new = rs.model_dump(mode="json")  # what set_run_settings stored (one read, not two)
        if (new["delivery"], new["channels"]) != (old.get("delivery"), old.get("channels")):
            delivery_changed(store, existing)  # a target or a channel more
        return Stored(existing, True, len(resume_batch(store, existing)))
    try:
        batch_id = store.create_batch(
            name=planned.name,
            fingerprint=fp,
            output_dir=out,
            provider=rs.provider,
            model=rs.model,
            source=planned.source,
            settings=rs.model_dump(mode="json"),
            specs=planned.plan.specs,
            estimated_cost=estimate.total_usd,
            warnings=planned.plan.warnings + planned.plan.skipped,
        )
    except sqlite3.IntegrityError:  # another Atelier process stored the same batch a moment ago
        existing = store.find_batch(fp)
        assert existing is not None
        return Stored(existing, True, 0)
    return Stored(batch_id, False, 0)


def retry_jobs(
    store: Store, engine: Engine, call: EngineCall, batch_id: int, job_ids: Iterable[int]
) -> list[int]:
    """Failed/cancelled jobs go back to pending (same jobs, new attempts) and join the batch's
    run if one is in progress (``call`` runs that on the engine's loop). Returns the ids reset;
    completed, pending and running jobs are left alone."""
    reset = store.reset_for_retry(job_ids)
    if reset:
        call(engine.requeue, batch_id, reset)
    return reset


def regenerate_jobs(
    store: Store,
    engine: Engine,
    call: EngineCall,
    batch_id: int,
    job_ids: Iterable[int],
    change: Change | None = None,
) -> Regenerated:
    """The one meaning of "regenerate": finished jobs go back as themselves (same ids, new
    attempts) to make their next version with a new seed, or as ``change`` says (the same
    seed and a new prompt, more samples, an edit of the shown image), their earlier images
    kept (``atelier.output.versions``), and join the batch's run if one is in progress.

    Raises:
        InputError: a change the jobs' provider cannot make; OutputError: a first version's
            file could not be kept.
    """
    done = regenerate(store, batch_id, job_ids, change)
    if done.job_ids:
        call(engine.requeue, batch_id, done.job_ids)
    return done


def price_jobs(
    store: Store,
    prices: PriceTable,
    batch_id: int,
    job_ids: Iterable[int],
    samples: int | None = None,
) -> Estimate:
    """What making these jobs of ``batch_id`` again costs (USD), before anything is paid: their
    images (``samples`` each, when given) at the batch's provider and model (a job's own,
    where it names one)."""
    rs = store.run_settings(batch_id)
    specs = [store.job(j).spec for j in job_ids]
    if samples is not None:
        specs = [s.model_copy(update={"sample_count": samples}) for s in specs]
    return prices.estimate_specs(specs, rs.provider, rs.model)


def review_images(
    store: Store, image_ids: Iterable[int], flag: str | None = None, stars: int | None = None
) -> int:
    """The one way an image's review changes (window keys, ``atelier review``): its flag
    (``unflagged`` / ``picked`` / ``rejected``) and/or 0–5 stars. Returns images changed.
    A pick records the deliveries it causes with it (``atelier.delivery.plan.picked_outbox``:
    after review, Shopify);
    ``Engine.deliver`` sends them.

    Raises:
        ValueError: an unknown flag or stars outside 0–5.
    """
    outbox = picked_outbox(store) if flag == "picked" else None
    return store.set_review(image_ids, flag=flag, stars=stars, outbox=outbox)


def rejected_jobs(store: Store, batch_id: int) -> list[int]:
    """Jobs whose shown images include a rejected one ("regenerate all rejected")."""
    return sorted({im.job_id for im in store.images(batch_id) if im.flag == "rejected"})


def sheet_options(plan: Plan, provider: str, workflow: Path | None) -> dict[str, dict[str, Any]]:
    """The window's provider options for ``plan``: ComfyUI's workflow when a job uses ComfyUI.

    Raises:
        InputError: the workflow cannot be read (``workflow_options``).
    """
    uses_comfy = provider == "comfyui" or any(s.provider == "comfyui" for s in plan.specs)
    return {"comfyui": workflow_options(workflow)} if uses_comfy and workflow else {}


def window_estimate(
    plan: Plan,
    prices: PriceTable,
    provider: str,
    model: str,
    workflow: Path | None,
    reuse: bool,
    store: Store | None,
    economy: bool = False,
) -> Estimate:
    """The batch page's estimate (a worker thread, plain values): as ``price`` prices a planned batch.

    Raises:
        InputError: the ComfyUI workflow cannot be read.
    """
    options = sheet_options(plan, provider, workflow)
    chosen = ["*"] if economy else []
    return price_plan(plan, prices, provider, model, options, reuse, store, chosen)


def plan_sheet_batch(
    batch: SheetBatch,
    *,
    provider: str,
    model: str,
    concurrency: int,
    budget_usd: float | None,
    workflow: Path | None,
    output_dir: Path,
    delivery: DeliveryForm | None = None,
    reuse: bool = True,
    economy: bool = False,
    qa_retry: int = 0,
    channels: Sequence[str] = (),
) -> PlannedBatch:
    """The window's spreadsheet batch as a checked ``PlannedBatch`` (plain values only: call it from
    a worker thread; planning 100,000 rows takes seconds). ``delivery``: the Deliver section
    (a new Slack address is stored in the keyring here); its notes join the plan's warnings.
    ``qa_retry``: how often a flagged image is made again (``RunSettings.qa_retry``).
    ``channels``: the batch page's chosen channels (checked against the known profiles).

    Raises:
        InputError: the plan, a job's settings, the delivery, a channel or the ComfyUI
            workflow is bad.
    """
    plan = batch.plan()
    deliver, notes = delivery_from_form(delivery) if delivery else (None, [])
    plan.warnings.extend(notes)
    rs = RunSettings(
        provider=provider,
        model=model,
        concurrency=concurrency,
        provider_options=sheet_options(plan, provider, workflow),
        budget_usd=budget_usd,
        delivery=deliver,
        reuse=reuse,
        economy=["*"] if economy else [],
        qa_retry=qa_retry,
        channels=channel_list(list(channels), tr("Channels")),
    )
    source = batch.table.source
    planned = PlannedBatch(plan, rs, output_dir, source.name, str(source), rows=True)
    check_run(planned, workflow_hint=tr("choose one with “Workflow…”"))
    return planned


def keep_user_files(planned: PlannedBatch) -> PlannedBatch:
    """Jobs whose file would replace one the user has in the output folder (a file Atelier did
    not make) get a new name (``name-2.png``…), with a note, unless the batch says
    ``overwrite``. Atelier's own earlier images are not the user's: a rerun resumes over them.
    """
    out = planned.output_dir
    if planned.settings.overwrite or not out.is_dir():
        return planned
    taken = {p.casefold() for s in planned.plan.specs for p in s.sample_paths()}
    specs, notes = [], []
    for i, spec in enumerate(planned.plan.specs):
        mine = [
            p for p in spec.sample_paths() if (out / p).exists() and not made_by_atelier(out / p)
        ]
        if not mine:
            specs.append(spec)
            continue
        stem, dot, ext = spec.output_path.rpartition(".")
        n = 2
        while True:
            renamed = spec.model_copy(update={"output_path": f"{stem}-{n}{dot}{ext}"})
            paths = renamed.sample_paths()
            if not any(p.casefold() in taken or _users(out / p) for p in paths):
                break
            n += 1
        taken.update(p.casefold() for p in paths)
        where = (
            tr("row {row}").format(row=spec.row_index + 1)
            if spec.row_index is not None
            else f"jobs[{i}]"
        )
        notes.append(
            tr(
                "{where}: {mine} in the output folder is not Atelier's; the image is written as {output_path} (choose Overwrite, or --overwrite, to replace it)"
            ).format(where=where, mine=mine[0], output_path=renamed.output_path)
        )
        specs.append(renamed)
    if not notes:
        return planned
    plan = replace(planned.plan, specs=specs, warnings=planned.plan.warnings + notes)
    return PlannedBatch(
        plan, planned.settings, planned.output_dir, planned.name, planned.source, planned.rows
    )


def user_files(planned: PlannedBatch) -> list[str]:
    """Files of the output folder that the batch would replace and Atelier did not make."""
    out = planned.output_dir
    if not out.is_dir():
        return []
    return [p for s in planned.plan.specs for p in s.sample_paths() if _users(out / p)]


def _users(path: Path) -> bool:
    """A file is there that Atelier did not make (an earlier image of Atelier's is not)."""
    return path.exists() and not made_by_atelier(path)
