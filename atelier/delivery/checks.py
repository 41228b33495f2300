"""Checking a batch's delivery against its sheet before anything is sent: every template
names a column or a built-in name, an address template keeps its shape, and no row leaves an
address's column empty (the models: ``atelier.core.delivery_config``)."""

from __future__ import annotations

from collections.abc import Sequence

from atelier.core.delivery_config import (
    BUILTINS,
    BaseTarget,
    CmsTarget,
    Delivery,
    S3Target,
    ShopifyTarget,
)
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.delivery.base import placeholders
from atelier.delivery.urls import url_shape_problem
from atelier.sheet.templates import describe_unknown


def templates_of(target: BaseTarget) -> dict[str, str]:
    """``{field: template}`` of a target's templated fields."""
    if isinstance(target, S3Target):
        out = {"key": target.key}
        if target.public_url:
            out["public_url"] = target.public_url
        return out
    if isinstance(target, CmsTarget):
        return {"url": target.url, "body": target.body} | {
            f"headers.{k}": v for k, v in target.headers.items()
        }
    return {}


URL_FIELDS = ("url", "public_url")
"""The templated fields that are addresses (filled by ``atelier.delivery.urls.render_url``)."""

SHOWN_ROWS = 10
"""Rows named in a message about empty cells before "and N more"."""


def _url_problem(t: BaseTarget, text: str, where: str) -> str | None:
    hosts = frozenset({"bucket"}) if isinstance(t, S3Target) else frozenset()
    return url_shape_problem(text, where, hosts)


def _empty_rows(name: str, rows: Sequence[tuple[int, dict[str, str]]]) -> list[int]:
    return [n for n, values in rows if not values.get(name, "").strip()]


def check_delivery(
    delivery: Delivery,
    columns: list[str],
    rows: Sequence[tuple[int, dict[str, str]]] = (),
) -> None:
    """Every template names a column of the sheet (``columns``) or a name in ``BUILTINS``; a
    CMS or Shopify target that needs a URL has a storage target before it; an address
    template (``URL_FIELDS``) keeps its scheme, host and query keys to the target's own
    settings, and none of its columns is empty in any of ``rows`` (1-based row number and the
    row's values): such a row would be uploaded, then fail to get its address.

    Raises:
        InputError: naming the target and field (``delivery s3.key``) and the unknown column,
            with the nearest column name; or the column and the rows where it is empty.
    """
    known = [*columns, *BUILTINS, "secret"]
    for t in delivery.targets:
        for field, text in templates_of(t).items():
            where = tr("delivery {name}.{field}").format(name=t.name, field=field)
            names = placeholders(text, where, json_body=field == "body")
            unknown = [n for n in names if n not in known]
            if unknown:
                raise InputError(where, describe_unknown(where, unknown, columns))
            if field not in URL_FIELDS:
                continue
            problem = _url_problem(t, text, where)
            if problem:
                raise InputError(where, problem.removeprefix(f"{where}: "))
            for name in names:
                empty = _empty_rows(name, rows) if name in columns else []
                if empty:
                    shown = ", ".join(str(n) for n in empty[:SHOWN_ROWS])
                    more = len(empty) - SHOWN_ROWS
                    if more > 0:
                        shown += tr(" and {count} more").format(count=more)
                    raise InputError(
                        where,
                        tr(
                            "the column {column!r} is empty in rows {rows}, and the address needs it; fill it there or take {{{column}}} out of the address"
                        ).format(column=name, rows=shown),
                    )
        if isinstance(t, CmsTarget) and "{url}" in t.body + t.url and not delivery.has_storage():
            raise InputError(
                tr("delivery {name}").format(name=t.name),
                tr(
                    "the CMS call uses {url}, which needs a storage target (S3) to deliver to first"
                ),
            )
        if isinstance(t, ShopifyTarget) and columns and t.handle_column not in columns:
            raise InputError(
                tr("delivery {name}.handle_column").format(name=t.name),
                describe_unknown(
                    tr("delivery {name}").format(name=t.name), [t.handle_column], columns
                ),
            )
