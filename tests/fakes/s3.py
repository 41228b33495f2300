"""moto's S3 server (``moto[server]``), the real S3 wire protocol on 127.0.0.1, started and
stopped by the tests; ``S3Server.client()`` is a boto3 client to read what was delivered."""

from __future__ import annotations

import socket
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

CREDS = {"aws_access_key_id": "AKIATESTATELIER", "aws_secret_access_key": "moto-secret-not-real"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3Server:
    """``with S3Server() as s3: s3.client().create_bucket(Bucket="shop")``; ``port`` may be
    chosen before the server starts (a target down, then back on the same address)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> S3Server:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", **CREDS)

    def objects(self, bucket: str) -> dict[str, Any]:
        """``{key: head_object answer}`` of every object in ``bucket``."""
        c = self.client()
        keys = [o["Key"] for o in c.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return {k: c.head_object(Bucket=bucket, Key=k) for k in keys}

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
