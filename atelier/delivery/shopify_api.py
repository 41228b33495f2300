"""Shopify Admin GraphQL: attach each delivered image to its product, found by handle.

Wire facts (shopify.dev, Admin GraphQL API; kept in ``docs/integrations.md``):

* ``POST https://{shop}.myshopify.com/admin/api/{version}/graphql.json`` with the header
  ``X-Shopify-Access-Token`` (a custom app's Admin API token, scope ``write_products``).
* ``productByIdentifier(identifier: {handle})`` finds a product by handle (2025-01 on;
  ``productByHandle`` is deprecated).
* ``productUpdate(product: {id}, media: [{originalSource, mediaContentType: IMAGE, alt}])``
  attaches media (the ``media`` argument replaced ``ProductInput.images`` in 2024-01).
* Without a public URL: ``stagedUploadsCreate(input: [{filename, mimeType, resource: IMAGE,
  httpMethod: POST}])`` gives a ``url`` and form ``parameters`` to POST the file to, and the
  ``resourceUrl`` to use as ``originalSource``.
* Throttling is cost-based (a leaky bucket of points): each answer's
  ``extensions.cost.throttleStatus`` has ``maximumAvailable``, ``currentlyAvailable`` and
  ``restoreRate`` (points/s); a call over budget answers ``errors[].extensions.code =
  "THROTTLED"``. The sender waits for the points a call needs before sending it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from atelier.core.delivery_config import ShopifyTarget, shop_domain
from atelier.core.i18n import tr
from atelier.core.secrets import SecretCache
from atelier.delivery.base import (
    DeliveryError,
    Parcel,
    check_response,
    check_target_host,
    network_error,
)

FIND = "query($h: String!) { productByIdentifier(identifier: {handle: $h}) { id } }"
ATTACH = (
    "mutation($id: ID!, $media: [CreateMediaInput!]) { productUpdate(product: {id: $id},"
    " media: $media) { product { id } userErrors { field message } } }"
)
STAGE = (
    "mutation($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) {"
    " stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }"
)
CALL_COST = 10.0
"""Points budgeted for each call before its real cost is known (a mutation's usual cost)."""


class ShopifySender:
    """Attaches images through the Admin GraphQL API within its cost-based throttle; ``send``
    returns the product's id (``gid://shopify/Product/…``).

    Raises (from ``send``): ``DeliveryError``: permanent for a missing token, an unknown handle
    and ``userErrors``; retryable for 5xx, network errors and a throttle that outlasts waiting.
    """

    concurrency = 2
    min_interval_s = 0.0

    def __init__(self, target: ShopifyTarget, timeout_s: float = 60.0) -> None:
        self.target = target
        self.name = target.name
        domain = shop_domain(target.shop)
        self.endpoint = target.endpoint or (
            f"https://{domain}/admin/api/{target.api_version}/graphql.json"
        )
        self._token_name = target.token_entry()
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._secrets = SecretCache()
        self._endpoint_host = httpx.URL(self.endpoint).host
        self._checked: set[str] = set()
        self._available = 1000.0
        self._restore = 50.0
        self._seen = time.monotonic()
        self._lock = asyncio.Lock()
        self.throttled = 0
        """How many calls Shopify answered THROTTLED (the tests read it)."""

    def secret_values(self) -> list[str]:
        """The secrets this sender has read (what ``redact_for`` replaces)."""
        return self._secrets.values()

    async def _guard(self, url: str) -> None:
        """The address guard: the endpoint as set (private allowed, metadata never); a staged
        upload address Shopify hands back must be public unless it is the endpoint's host."""
        host = httpx.URL(url).host
        if host not in self._checked:
            await check_target_host(self.name, host, user_set=host == self._endpoint_host)
            self._checked.add(host)

    async def _budget(self, cost: float) -> None:
        """Wait until the bucket, refilled at ``restoreRate`` since the last answer, holds
        ``cost`` points; then book them."""
        async with self._lock:
            now = time.monotonic()
            self._available += (now - self._seen) * self._restore
            self._seen = now
            if self._available < cost:
                await asyncio.sleep((cost - self._available) / max(self._restore, 1e-3))
                self._available = cost
                self._seen = time.monotonic()
            self._available -= cost

    def _learn(self, body: dict[str, Any]) -> None:
        status = body.get("extensions", {}).get("cost", {}).get("throttleStatus")
        if status:
            self._available = float(status.get("currentlyAvailable", self._available))
            self._restore = float(status.get("restoreRate", self._restore))
            self._seen = time.monotonic()

    async def _gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        token = self._secrets.get(self._token_name, "shopify")
        if not token:
            raise DeliveryError(
                tr(
                    "delivery {name}: no Admin API token in the keyring entry {entry!r} (or ATELIER_SHOPIFY_TOKEN)"
                ).format(name=self.name, entry=self._token_name),
                retryable=False,
            )
        await self._guard(self.endpoint)
        for _ in range(6):
            await self._budget(CALL_COST)
            try:
                r = await self._client.post(
                    self.endpoint,
                    json={"query": query, "variables": variables},
                    headers={"X-Shopify-Access-Token": token},
                )
            except httpx.HTTPError as e:
                raise network_error("Shopify", e) from e
            check_response("Shopify", r)
            body: dict[str, Any] = r.json()
            self._learn(body)
            errors = body.get("errors") or []
            if any(e.get("extensions", {}).get("code") == "THROTTLED" for e in errors):
                self.throttled += 1
                continue  # _budget now waits for the points Shopify says are missing
            if errors:
                raise DeliveryError(f"Shopify: {errors[0].get('message')}", retryable=False)
            data: dict[str, Any] = body.get("data") or {}
            return data
        raise DeliveryError(tr("Shopify: still throttled after waiting"), retryable=True)

    async def _staged(self, parcel: Parcel) -> str:
        """Upload the file through a staged upload; returns its ``resourceUrl``."""
        assert parcel.path is not None
        mime = "image/png" if parcel.path.suffix.lower() == ".png" else "image/jpeg"
        staged = await self._gql(
            STAGE,
            {
                "input": [
                    {
                        "filename": parcel.path.name,
                        "mimeType": mime,
                        "resource": "IMAGE",
                        "httpMethod": "POST",
                    }
                ]
            },
        )
        out = staged["stagedUploadsCreate"]
        if out.get("userErrors"):
            raise DeliveryError(f"Shopify: {out['userErrors'][0]['message']}", retryable=False)
        target = out["stagedTargets"][0]
        fields = {p["name"]: p["value"] for p in target["parameters"]}
        data = await asyncio.to_thread(parcel.path.read_bytes)
        await self._guard(str(target["url"]))
        try:
            r = await self._client.post(
                target["url"], data=fields, files={"file": (parcel.path.name, data, mime)}
            )
        except httpx.HTTPError as e:
            raise network_error("Shopify staged upload", e) from e
        check_response("Shopify staged upload", r)
        return str(target["resourceUrl"])

    async def send(self, parcel: Parcel) -> str | None:
        """Find the product by the row's handle and attach the image (its stored URL, else a
        staged upload)."""
        handle = parcel.values.get(self.target.handle_column, "").strip()
        if not handle:
            raise DeliveryError(
                tr("delivery {name}: the row has no {column!r}").format(
                    name=self.name, column=self.target.handle_column
                ),
                retryable=False,
            )
        found = await self._gql(FIND, {"h": handle})
        product = found.get("productByIdentifier")
        if not product:
            raise DeliveryError(
                tr("Shopify: no product with handle {handle!r}").format(handle=handle),
                retryable=False,
            )
        source = parcel.values.get("url") or await self._staged(parcel)
        alt = parcel.values.get(self.target.alt_column or "", "")
        media = [{"originalSource": source, "mediaContentType": "IMAGE", "alt": alt}]
        done = await self._gql(ATTACH, {"id": product["id"], "media": media})
        errs = done["productUpdate"].get("userErrors") or []
        if errs:
            raise DeliveryError(f"Shopify: {json.dumps(errs[0])}", retryable=False)
        return str(product["id"])

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
