"""S3-compatible storage (AWS S3, Cloudflare R2, MinIO, Backblaze B2, Wasabi) through boto3.

Why boto3: it is the SDK AWS itself keeps, speaks every S3-compatible service through
``endpoint_url``, reads the standard credential chain (environment, ``~/.aws``, profiles) with
no code of ours, and signs and retries as S3 expects. It is synchronous, so each upload runs in
a daemon thread (``in_daemon_thread``); uploads are few and large next to that cost. boto3 is
imported on the first upload, not with the engine: it costs about 0.16 s, and the studio and
most batches never upload.
Wire facts (``PutObject``: ``Content-Type``, ``Cache-Control``, ``x-amz-meta-*`` user metadata;
a PUT of an existing key replaces it): AWS S3 API Reference, PutObject. The seeds' public
address ``https://{bucket}.s3.amazonaws.com/{key}`` is AWS's virtual-hosted style.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from atelier.core.addresses import AddressRefusedError, check_host_sync
from atelier.core.delivery_config import S3Target
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.secrets import get_secret
from atelier.delivery.base import RETRYABLE_STATUS, DeliveryError, Parcel, in_daemon_thread, render
from atelier.delivery.urls import render_url
from atelier.sheet.templates import format_from_path, safe_relative_path

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def object_key(target: S3Target, values: dict[str, str]) -> str:
    """The object key of an image: ``target.key`` rendered and made safe as file names are
    (no ``..``, no absolute path, the image's extension kept). A channel's rendition
    (``values["channel"]``, ``atelier.delivery.channels``) goes under the prefix ``<channel>/``
    unless the template places ``{channel}`` itself.

    Raises:
        DeliveryError: (permanent) the template leaves no usable key.
    """
    where = tr("delivery {name}.key").format(name=target.name)
    raw = render(target.key, values, where)
    if values.get("channel") and "{channel}" not in target.key:
        raw = f"{values['channel']}/{raw}"
    fmt = format_from_path(values.get("file", "")) or "png"
    try:
        return safe_relative_path(raw, fmt, where)
    except InputError as e:  # the row's values made a bad key
        raise DeliveryError(str(e), retryable=False) from e


def public_url(target: S3Target, values: dict[str, str], key: str, row: str = "") -> str:
    """The address the report and later targets use for an object (see ``S3Target``):
    ``target.public_url`` filled by ``render_url`` (``{bucket}`` may stand in its host,
    ``{key}`` keeps its ``/``), ``row`` naming the row in its errors.

    Raises:
        DeliveryError: (permanent) as ``render_url``.
    """
    if target.public_url:
        return render_url(
            target.public_url,
            values | {"bucket": target.bucket, "key": key},
            tr("delivery {name}.public_url").format(name=target.name),
            row=row,
            host_names=frozenset({"bucket"}),
        )
    if target.endpoint_url:
        return f"{target.endpoint_url.rstrip('/')}/{target.bucket}/{quote(key)}"
    return f"https://{target.bucket}.s3.amazonaws.com/{quote(key)}"


class S3Sender:
    """Uploads image files to ``target``'s bucket; ``send`` returns the public URL.

    Raises (from ``send``): ``DeliveryError``: retryable for 5xx, throttling and network
    errors; permanent for 403 (wrong credentials), 404 (no such bucket) and other 4xx.
    """

    min_interval_s = 0.0

    def __init__(self, target: S3Target, timeout_s: float = 60.0, concurrency: int = 4) -> None:
        self.target = target
        self.name = target.name
        self.concurrency = concurrency
        self._timeout_s = timeout_s
        self._client: S3Client | None = None
        self._secret: str | None = None

    def secret_values(self) -> list[str]:
        """The secret access key, once read (what ``redact_for`` replaces)."""
        return [self._secret] if self._secret else []

    def _make_client(self) -> S3Client:
        import boto3
        import botocore.config

        t = self.target
        if t.endpoint_url:
            host = urlsplit(t.endpoint_url).hostname or ""
            try:
                check_host_sync(host, user_set=True)
            except AddressRefusedError:
                raise DeliveryError(
                    tr(
                        "delivery {name}: {host} is a cloud metadata or link-local address; Atelier never calls it, nothing was sent"
                    ).format(name=t.name, host=host),
                    retryable=False,
                ) from None
        creds: dict[str, Any] = {}
        entry = t.secret_entry()
        if entry:
            secret = get_secret(entry)
            if not secret:
                raise DeliveryError(
                    tr(
                        "delivery {name}: no secret for access key {key_id} in the keyring (the batch page's Deliver → Secret, or `atelier secret set {entry}`)"
                    ).format(name=t.name, key_id=t.access_key_id, entry=entry),
                    retryable=False,
                )
            self._secret = secret
            creds = {"aws_access_key_id": t.access_key_id, "aws_secret_access_key": secret}
        config = botocore.config.Config(
            connect_timeout=min(10.0, self._timeout_s),
            read_timeout=self._timeout_s,
            retries={
                "total_max_attempts": 1,
                "mode": "standard",
            },  # the outbox retries, recording each
            max_pool_connections=self.concurrency,
        )
        return boto3.session.Session().client(
            "s3", endpoint_url=t.endpoint_url, region_name=t.region, config=config, **creds
        )

    def _already_there(self, parcel: Parcel, key: str) -> bool:
        """Whether an earlier attempt of this message stored this very file under ``key``
        before its answer was lost (a crash, a timeout): its ``atelier-message`` metadata and
        its ETag (the MD5 of a single-part upload, per S3's PutObject) match."""
        import botocore.exceptions

        assert self._client is not None and parcel.path is not None
        try:
            head = self._client.head_object(Bucket=self.target.bucket, Key=key)
        except botocore.exceptions.ClientError:
            return False  # absent (404) or not readable: upload it
        if head.get("Metadata", {}).get("atelier-message") != parcel.message_id:
            return False
        md5 = hashlib.md5(parcel.path.read_bytes(), usedforsecurity=False).hexdigest()
        return str(head.get("ETag", "")).strip('"') == md5

    def _put(self, parcel: Parcel, key: str) -> None:
        if self._client is None:
            self._client = self._make_client()
        assert parcel.path is not None
        if parcel.attempt > 1 and self._already_there(parcel, key):
            return
        fmt = format_from_path(parcel.path.name) or "png"
        extra: dict[str, Any] = {
            "ContentType": self.target.content_type or CONTENT_TYPES.get(fmt, "image/png")
        }
        if self.target.cache_control:
            extra["CacheControl"] = self.target.cache_control
        meta = {
            "atelier-batch": parcel.values.get("batch", ""),
            "atelier-job": parcel.values.get("job", ""),
            "atelier-version": parcel.values.get("version", ""),
            "atelier-message": parcel.message_id,
        }
        with parcel.path.open("rb") as f:
            self._client.put_object(
                Bucket=self.target.bucket, Key=key, Body=f, Metadata=meta, **extra
            )

    async def send(self, parcel: Parcel) -> str | None:
        """Upload ``parcel.path`` under its key (a retry first looks whether an earlier
        attempt's upload is there: an image is stored once); returns its public URL."""
        if parcel.path is None or not parcel.path.is_file():
            raise DeliveryError(
                tr("{path}: the image file is gone").format(path=parcel.path), retryable=False
            )
        key = object_key(self.target, parcel.values)
        # Filled before the upload: a row whose address cannot be made uploads nothing.
        url = public_url(self.target, parcel.values, key, parcel.row)
        what = f"s3://{self.target.bucket}/{key}"
        import botocore.exceptions

        try:
            await in_daemon_thread(self._put, parcel, key)  # a dead target: see its doc
        except botocore.exceptions.ClientError as e:
            status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            code = e.response.get("Error", {}).get("Code", "")
            raise DeliveryError(
                f"{what}: {code or 'error'} (HTTP {status})",
                retryable=status in RETRYABLE_STATUS or code in ("SlowDown", "RequestTimeout"),
                http_status=status or None,
            ) from e
        except (botocore.exceptions.BotoCoreError, OSError) as e:
            no_creds = isinstance(e, botocore.exceptions.NoCredentialsError)
            raise DeliveryError(
                f"{what}: {e}" if no_creds else f"{what}: {type(e).__name__}",
                retryable=not no_creds,
            ) from e
        return url

    async def aclose(self) -> None:
        """Close the client's connection pool."""
        if self._client is not None:
            await in_daemon_thread(self._client.close)
